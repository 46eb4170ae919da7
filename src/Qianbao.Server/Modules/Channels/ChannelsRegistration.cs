
namespace Qianbao.Server.Modules.Channels;

/// <summary>Wires the funding channels into the host: options (validated now), the sandbox bank, the registry, callbacks.</summary>
public static class ChannelsRegistration
{
    /// <summary>
    /// Registers <see cref="FundingChannels"/> from <c>Qianbao:Channels</c> (a bad value throws here, stopping the start)
    /// and <see cref="IFundingChannel"/> as its default channel. Needs <c>SandboxOptions</c>,
    /// <see cref="IChannelOutcomeSink"/> and <c>TimeProvider</c> registered by the host.
    /// </summary>
    public static IServiceCollection AddChannels(this IServiceCollection services, IConfiguration configuration)
    {
        var options = ChannelsOptions.Load(configuration);
        services.AddSingleton(options);
        services.AddSingleton<SandboxBankChannel>();
        services.AddSingleton(sp => new FundingChannels(options, sp));
        services.AddSingleton(sp => sp.GetRequiredService<FundingChannels>().Default);
        return services;
    }

    /// <summary>Maps <c>POST /channels/v1/{name}/callbacks</c>.</summary>
    public static IEndpointRouteBuilder MapChannels(this IEndpointRouteBuilder app)
    {
        ReceiveChannelCallback.Map(app);
        return app;
    }
}
