
namespace Qianbao.Server.Modules.Channels;

/// <summary>Wires the funding channels into the host: options (validated now), the sandbox bank, the registry, callbacks.</summary>
internal static class ChannelsRegistration
{
    /// <summary>
    /// Registers <see cref="FundingChannels"/> from <c>Qianbao:Channels</c> (a bad value throws here, stopping the start)
    /// and <see cref="IFundingChannel"/> as its default channel, the outcome sink that settles holds, and hold
    /// maintenance (reconciliation). Needs <c>SandboxOptions</c> and <c>TimeProvider</c> registered by the host.
    /// </summary>
    public static IServiceCollection AddChannels(this IServiceCollection services, IConfiguration configuration)
    {
        var options = ChannelsOptions.Load(configuration);
        services.AddSingleton(options);
        services.AddSingleton<SandboxBankChannel>();
        services.AddSingleton(sp => new FundingChannels(options, sp));
        services.AddSingleton(sp => sp.GetRequiredService<FundingChannels>().Default);
        services.AddSingleton<IChannelOutcomeSink, ChannelSettlement>();
        services.AddSingleton<HoldMaintenance>();
        services.AddHostedService(sp => sp.GetRequiredService<HoldMaintenance>());
        return services;
    }

    /// <summary>Maps <c>POST /channels/v1/{name}/callbacks</c> and the top-up and withdrawal status reads.</summary>
    public static IEndpointRouteBuilder MapChannels(this IEndpointRouteBuilder app)
    {
        ReceiveChannelCallback.Map(app);
        GetChannelHold.Map(app);
        return app;
    }
}
