using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// AML monitoring (a subscriber of the money events, its movement log, rules and cases), large-value reports, and
/// watchlist screening, which Identity and Merchants call through <see cref="WatchlistScreening"/>.
/// </summary>
internal static class RiskModule
{
    public static IServiceCollection AddRiskModule(this IServiceCollection services)
    {
        services.AddSingleton<AmlRules>();
        services.AddSingleton(_ => new AmlWindows());
        services.AddSingleton<AmlStore>();
        services.AddSingleton<RiskCases>();
        services.AddSingleton<Watchlist>();
        services.AddSingleton<WatchlistScreening>();
        services.AddSingleton<IEventSubscriber, AmlSubscriber>();
        return services;
    }

    public static IEndpointRouteBuilder MapRiskModule(this IEndpointRouteBuilder app)
    {
        ListCases.Map(app);
        GetCase.Map(app);
        AssignCase.Map(app);
        ResolveCase.Map(app);
        LargeValueReport.Map(app);
        WatchlistEndpoints.Map(app);
        return app;
    }
}
