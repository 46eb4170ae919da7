using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// Trades: opening them, paying (QR code, payment code, in-app), refunds, profit-sharing and closing. Protocol
/// adapters (the Alipay gateway) translate their wire formats into these use cases.
/// </summary>
internal static class AcquiringModule
{
    public static IServiceCollection AddAcquiringModule(this IServiceCollection services)
    {
        services.AddSingleton<TradeStore>();
        services.AddSingleton<IGuardChecker, TradeGuardChecker>();
        services.AddSingleton<IGuardChecker, BuyerFirstPaymentGuardChecker>();
        services.AddSingleton<IEffectWriter, TradeChangeWriter>();
        services.AddSingleton<TradeCreation>();
        services.AddSingleton<TradePayments>();
        services.AddSingleton<BuyerTrades>();
        services.AddSingleton<CodePayConfirmation>();
        services.AddSingleton<TradeClosing>();
        services.AddSingleton<PaymentCodes>();
        services.AddSingleton<RoyaltyRelations>();
        services.AddHostedService<TradeExpiry>();
        return services;
    }

    public static IEndpointRouteBuilder MapAcquiringModule(this IEndpointRouteBuilder app)
    {
        CreatePaymentCode.Map(app);
        PayTrade.Map(app);
        PreviewTrade.Map(app);
        PayCollectionCode.Map(app);
        MerchantApi.MerchantTrades.Map(app);
        MerchantApi.MerchantRefund.Map(app);
        MerchantApi.MerchantSettlements.Map(app);
        return app;
    }
}
