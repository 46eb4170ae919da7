using Qianbao.Server.Adapters.Alipay.Bills;
using Qianbao.Server.Adapters.Alipay.Methods;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>The Alipay OpenAPI v2 adapter: <c>/gateway.do</c>, its methods, bills and platform keys, over the Acquiring module.</summary>
internal static class GatewayRegistration
{
    /// <summary>Registers the gateway; <see cref="GatewayOptions"/> and <see cref="QianbaoOptions"/> come from <see cref="OptionsCatalog"/>.</summary>
    public static IServiceCollection AddGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(Modules.Merchants.NotifyUrlPolicy.FromConfiguration(configuration));
        services.AddSingleton(sp => PlatformKeyRing.LoadOrCreate(sp.GetRequiredService<GatewayOptions>().PlatformKeyDir
                                                                 ?? Path.Combine(sp.GetRequiredService<QianbaoOptions>().DataDir, "platform-keys")));
        services.AddSingleton(sp => new BillUrls(Startup.LoadOrCreateSecret(sp.GetRequiredService<Db>(), "bill_url_key"), sp.GetRequiredService<GatewayOptions>(),
            sp.GetRequiredService<TimeProvider>()));
        // Merchant notifications follow the trade events (the dispatcher itself is registered by AddNotifications).
        services.AddSingleton<Money.Events.IEventSubscriber, Notifications.TradeNotificationSubscriber>();
        services.AddSingleton<GatewayLimits>();
        services.AddSingleton<GatewayFixedAnswers>();
        services.AddSingleton<GatewayEndpoint>();
        services.AddSingleton<GatewayMethods>();
        foreach (var method in new[] { typeof(Precreate), typeof(Create), typeof(Pay), typeof(Query), typeof(Close), typeof(Cancel), typeof(Refund),
                     typeof(RefundQuery), typeof(RoyaltyRelationBind), typeof(OrderSettle), typeof(BillDownloadUrlQuery),
                     typeof(VoucherTemplateCreate), typeof(VoucherSend), typeof(VoucherQuery), typeof(ServiceMessageSend), typeof(CardTemplateCreate), typeof(CardOpen),
                     typeof(CardQuery) })
            services.AddSingleton(typeof(IGatewayMethod), method);
        return services;
    }

    public static IEndpointRouteBuilder MapGateway(this IEndpointRouteBuilder app)
    {
        GatewayEndpoint.Map(app);
        DownloadBill.Map(app);
        RotatePlatformKey.Map(app);
        return app;
    }
}
