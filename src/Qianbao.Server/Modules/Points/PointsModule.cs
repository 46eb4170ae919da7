using Qianbao.Server.Money.Events;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Points;

/// <summary>
/// Loyalty points: a ledger unit (PTS) earned by every paid trade (a subscriber of <c>trade.paid</c>), taken back in
/// proportion by refunds (<c>trade.refunded</c>), expired lot by lot by a sweeper, shown by <c>GET /v1/points</c>.
/// Multipliers (points campaigns, member levels) plug in as <see cref="IPointsMultiplier"/>s.
/// </summary>
internal static class PointsModule
{
    public static IServiceCollection AddPointsModule(this IServiceCollection services)
    {
        services.AddSingleton<PointsStore>();
        services.AddSingleton<PointsBalances>();
        services.AddSingleton<ExpiringPoints>();
        services.AddSingleton<PointsExpiry>();
        services.AddSingleton<PointsRedemption>();
        services.AddSingleton<IEffectWriter, PointsWriter>();
        services.AddSingleton<IGuardChecker, PointsGuardChecker>();
        services.AddSingleton<IGuardChecker, PointsUsableGuardChecker>();
        services.AddSingleton<IEventSubscriber, PointsSubscriber>();
        services.AddHostedService<PointsExpirySweeper>();
        services.AddSingleton<Identity.DataRights.IPersonalDataSource, PointsPersonalData>();
        return services;
    }

    public static IEndpointRouteBuilder MapPointsModule(this IEndpointRouteBuilder app)
    {
        GetPoints.Map(app);
        return app;
    }
}
