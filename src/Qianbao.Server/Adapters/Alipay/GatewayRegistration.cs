using Qianbao.Server.Adapters.Alipay.Bills;
using Qianbao.Server.Adapters.Alipay.Methods;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Adapters.Alipay;

public static class GatewayRegistration
{
    public static IServiceCollection AddGateway(this IServiceCollection services, IConfiguration configuration, QianbaoOptions qianbao)
    {
        var options = configuration.GetSection("Qianbao:Gateway").Get<GatewayOptions>() ?? new GatewayOptions();
        if (options.BillUrlLifetimeSeconds is < 60 or > 86_400) throw new InvalidOperationException("Qianbao:Gateway:BillUrlLifetimeSeconds must be 60..86400");
        if (options.RoyaltyMaxBps is < 0 or > Modules.Acquiring.RoyaltyBounds.BpsMax)
            throw new InvalidOperationException("Qianbao:Gateway:RoyaltyMaxBps must be 0..10000");
        services.AddSingleton(options);
        services.TryAddSingleton(Modules.Merchants.NotifyUrlPolicy.FromConfiguration(configuration));
        services.AddSingleton(_ => PlatformKeyRing.LoadOrCreate(options.PlatformKeyDir ?? Path.Combine(qianbao.DataDir, "platform-keys")));
        services.AddSingleton(sp => new BillUrls(Startup.LoadOrCreateSecret(sp.GetRequiredService<Db>(), "bill_url_key"), options,
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<TradeStore>();
        services.AddSingleton<Money.Pipeline.IGuardChecker, TradeGuardChecker>();
        services.AddSingleton<Money.Pipeline.IEffectWriter, TradeChangeWriter>();
        services.AddSingleton<TradeCreation>();
        services.AddSingleton<TradePayments>();
        services.AddSingleton<TradeClosing>();
        services.AddSingleton<PaymentCodes>();
        services.AddHostedService<TradeExpiry>();
        services.AddSingleton<GatewayEndpoint>();
        services.AddSingleton<GatewayMethods>();
        foreach (var method in new[] { typeof(Precreate), typeof(Create), typeof(Pay), typeof(Query), typeof(Close), typeof(Cancel), typeof(Refund),
                     typeof(RefundQuery), typeof(RoyaltyRelationBind), typeof(OrderSettle), typeof(BillDownloadUrlQuery) })
            services.AddSingleton(typeof(IGatewayMethod), method);
        return services;
    }

    public static IEndpointRouteBuilder MapGateway(this IEndpointRouteBuilder app)
    {
        GatewayEndpoint.Map(app);
        DownloadBill.Map(app);
        CreatePaymentCode.Map(app);
        PayTrade.Map(app);
        return app;
    }
}
