using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Modules.Analytics;

/// <summary>
/// Merchant analytics and operator KPIs, served from rollups (migration 0031) that a durable subscriber keeps from the domain
/// events, exactly once. No module's tables are read: payers' demographics come from Identity (<c>PayerDemographics</c>), a
/// trade's campaigns from Marketing (<c>CouponRedemptions</c>).
/// </summary>
internal static class AnalyticsModule
{
    public static IServiceCollection AddAnalyticsModule(this IServiceCollection services)
    {
        services.AddSingleton<AnalyticsStore>();
        services.AddSingleton<MerchantAnalytics>();
        services.AddSingleton<OperatorKpis>();
        services.AddSingleton<IEventSubscriber, AnalyticsSubscriber>();
        return services;
    }

    public static IEndpointRouteBuilder MapAnalyticsModule(this IEndpointRouteBuilder app)
    {
        GetMerchantAnalytics.Map(app);
        GetOperatorKpis.Map(app);
        return app;
    }
}
