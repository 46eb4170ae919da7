using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>
/// Marketing campaigns funded in the ledger (each campaign's budget is its own account that never goes negative,
/// filled from the platform's marketing expense or a merchant's settlement balance and emptied back when it stops or
/// ends) and the coupons users claim from them. Applying coupons at payment is the payment path's (it asks
/// <see cref="Coupons.UsableForAsync"/>).
/// </summary>
internal static class MarketingModule
{
    public static IServiceCollection AddMarketingModule(this IServiceCollection services)
    {
        services.AddSingleton<Campaigns>();
        services.AddSingleton<CampaignClosing>();
        services.AddSingleton<Coupons>();
        services.AddSingleton<ExpiringCoupons>();
        services.AddSingleton<CouponFacts>();
        services.AddSingleton<MerchantVouchers>();
        services.AddSingleton<CouponRedemptions>();
        services.AddSingleton<IEffectWriter, CouponUseWriter>();
        services.AddSingleton<IGuardChecker, CouponAvailableGuardChecker>();
        services.AddSingleton<IEffectWriter, CampaignWriter>();
        services.AddSingleton<IEffectWriter, VoucherTemplateWriter>();
        services.AddSingleton<IGuardChecker, CampaignOpenGuardChecker>();
        services.AddSingleton<FirstPaymentDiscounts>();
        services.AddSingleton<IEffectWriter, FirstPaymentWriter>();
        services.AddSingleton<Points.IPointsMultiplier, CampaignPointsMultiplier>();
        services.AddSingleton<CampaignEndSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<CampaignEndSweeper>());
        return services;
    }

    public static IEndpointRouteBuilder MapMarketingModule(this IEndpointRouteBuilder app)
    {
        CreateCampaign.Map(app);
        StopCampaign.Map(app);
        GetCampaigns.Map(app);
        ListClaimableCampaigns.Map(app);
        ClaimCoupon.Map(app);
        ListCoupons.Map(app);
        ListMerchantVouchers.Map(app);
        CreateMerchantVoucher.Map(app);
        StopMerchantVoucher.Map(app);
        return app;
    }
}
