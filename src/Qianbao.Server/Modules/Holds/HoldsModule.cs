using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Holds;

/// <summary>
/// Court-ordered amount holds: part of a wallet held in the ledger (a pending transfer to the judicial-hold account
/// that never times out), released or deducted to a payee by operators. Full freezes of users and merchants are
/// Money's <c>owner_freezes</c> (Admin and Merchants map them).
/// </summary>
internal static class HoldsModule
{
    public static IServiceCollection AddHoldsModule(this IServiceCollection services)
    {
        services.AddSingleton<AmountHolds>();
        services.AddSingleton<IEffectWriter, AmountHoldWriter>();
        return services;
    }

    public static IEndpointRouteBuilder MapHoldsModule(this IEndpointRouteBuilder app)
    {
        PlaceAmountHold.Map(app);
        ListAmountHolds.Map(app);
        ReleaseAmountHold.Map(app);
        DeductAmountHold.Map(app);
        return app;
    }
}
