using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.RedPackets;

/// <summary>
/// Red packets (红包): a sender puts an amount into a packet's own escrow account in the ledger, cut into shares fixed at
/// creation; people with the code claim one share each; what is left returns to the sender at expiry (a hosted sweeper).
/// </summary>
internal static class RedPacketsModule
{
    public static IServiceCollection AddRedPacketsModule(this IServiceCollection services)
    {
        services.AddSingleton<RedPacketStore>();
        services.AddSingleton<IEffectWriter, RedPacketWriter>();
        services.AddSingleton<IGuardChecker, RedPacketGuardChecker>();
        services.AddSingleton<RedPacketSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<RedPacketSweeper>());
        return services;
    }

    public static IEndpointRouteBuilder MapRedPacketsModule(this IEndpointRouteBuilder app)
    {
        CreateRedPacket.Map(app);
        ClaimRedPacket.Map(app);
        GetRedPacket.Map(app);
        return app;
    }
}
