using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>Merchants, their verification, their apps (open-platform credentials) and their payouts.</summary>
internal static class MerchantsModule
{
    public static IServiceCollection AddMerchantsModule(this IServiceCollection services)
    {
        services.AddSingleton<MerchantDirectory>();
        services.AddSingleton<MerchantApps>();
        services.AddSingleton<MerchantData>();
        services.AddSingleton(MerchantData.Sealed);
        services.AddSingleton<Storage.PersonalData.IPlaintextUpgrade, MerchantsPlaintextUpgrade>();
        // Merchant staff accounts (signup, logins, the native merchant API's tokens).
        services.AddSingleton<Accounts.MerchantStaffData>();
        services.AddSingleton(Accounts.MerchantStaffData.Sealed);
        services.AddSingleton(sp => new Accounts.MerchantTokens(Startup.LoadOrCreateSecret(sp.GetRequiredService<Db>(), "merchant_token_key"),
            sp.GetRequiredService<TimeProvider>(), TimeSpan.FromMinutes(sp.GetRequiredService<MerchantOptions>().TokenLifetimeMinutes)));
        services.AddSingleton<Accounts.DisabledMerchantStaff>();
        services.AddSingleton<CollectionCodes>();
        services.AddHostedService<Accounts.DisabledMerchantStaffWatcher>();
        return services;
    }

    public static IEndpointRouteBuilder MapMerchantsModule(this IEndpointRouteBuilder app)
    {
        CreateMerchant.Map(app);
        VerifyMerchant.Map(app);
        GetMerchant.Map(app);
        CreateMerchantApp.Map(app);
        CreateMerchantPayout.Map(app);
        FreezeMerchant.Map(app);
        Accounts.MerchantSignup.Map(app);
        Accounts.SignupReview.Map(app);
        Accounts.IssueMerchantToken.Map(app);
        Accounts.MerchantStaff.Map(app);
        Accounts.GetCollectionCode.Map(app);
        Accounts.GetMerchantSelf.Map(app);
        Accounts.ListOwnApps.Map(app);
        Accounts.SetAppNotifyUrl.Map(app);
        Accounts.SetAppPublicKey.Map(app);
        return app;
    }
}
