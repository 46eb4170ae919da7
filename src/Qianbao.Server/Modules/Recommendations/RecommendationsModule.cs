namespace Qianbao.Server.Modules.Recommendations;

/// <summary>
/// Personalisation: merchants and claimable coupon campaigns ranked for a person from payment history (item-to-item
/// co-occurrence over its own rollups fed by a trade.paid subscriber; popular merchants when there is none).
/// </summary>
internal static class RecommendationsModule
{
    public static IServiceCollection AddRecommendationsModule(this IServiceCollection services)
    {
        services.AddSingleton<Money.Events.IEventSubscriber, RecommendationRollup>();
        services.AddSingleton<MerchantRecommendations>();
        return services;
    }

    public static IEndpointRouteBuilder MapRecommendationsModule(this IEndpointRouteBuilder app)
    {
        GetRecommendations.Map(app);
        return app;
    }
}
