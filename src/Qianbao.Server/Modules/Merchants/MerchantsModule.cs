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
        return app;
    }
}
