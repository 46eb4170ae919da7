using Qianbao.Server.Money.Events;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Cashback;

/// <summary>
/// Cashback campaigns paid out: earned on paid trades (a subscriber of <c>trade.paid</c>) as a pending credit from the campaign's
/// budget to the buyer's wallet, posted by a sweeper when it settles (<c>cashback.posted</c>), voided or clawed back in proportion
/// by refunds (the refund path asks <see cref="CashbackRefunds"/>), shown by <c>GET /v1/cashback</c>.
/// </summary>
internal static class CashbackModule
{
    public static IServiceCollection AddCashbackModule(this IServiceCollection services)
    {
        services.AddSingleton<CashbackStore>();
        services.AddSingleton<CashbackRefunds>();
        services.AddSingleton<CashbackSettlement>();
        services.AddSingleton<IEffectWriter, CashbackWriter>();
        services.AddSingleton<IGuardChecker, CashbackGuardChecker>();
        services.AddSingleton<IEventSubscriber, CashbackSubscriber>();
        services.AddHostedService<CashbackSettleSweeper>();
        services.AddSingleton<Identity.DataRights.IPersonalDataSource, CashbackPersonalData>();
        return services;
    }

    public static IEndpointRouteBuilder MapCashbackModule(this IEndpointRouteBuilder app)
    {
        GetCashback.Map(app);
        return app;
    }
}
