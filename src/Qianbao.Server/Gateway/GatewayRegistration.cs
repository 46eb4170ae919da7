using Microsoft.Extensions.DependencyInjection.Extensions;
using Qianbao.Server.Features.Payments;
using Qianbao.Server.Gateway.Alipay;
using Qianbao.Server.Gateway.Bills;
using Qianbao.Server.Gateway.Trades;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Gateway;

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
