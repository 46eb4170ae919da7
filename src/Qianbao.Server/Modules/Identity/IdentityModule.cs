using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Identity.BankCards;
using Qianbao.Server.Modules.Identity.Limits;
using Qianbao.Server.Modules.Identity.Spending;
using Qianbao.Server.Modules.Identity.Tiers;
using Qianbao.Server.Storage;
using Qianbao.Server.Storage.PersonalData;

namespace Qianbao.Server.Modules.Identity;

/// <summary>People and credentials: registration, passwords, tokens, the operator key, the user directory.</summary>
internal static class IdentityModule
{
    public static IServiceCollection AddIdentityModule(this IServiceCollection services)
    {
        services.AddSingleton(sp => new PasswordHasher(sp.GetRequiredService<QianbaoOptions>().Auth.PasswordIterations));
        services.AddSingleton<UserDirectory>();
        services.AddSingleton<MaskedNameCache>();
        services.AddSingleton<UserSegments>();
        services.AddSingleton<PayerDemographics>();
        services.AddSingleton<UserData>();
        services.AddSingleton(UserData.Sealed);
        services.AddSingleton<IPlaintextUpgrade, IdentityPlaintextUpgrade>();
        services.AddSingleton<DataRights.PersonalDataExport>();
        services.AddSingleton<DataRights.IPersonalDataSource, DataRights.IdentityPersonalData>();
        services.AddSingleton(sp => new TokenService(Startup.LoadOrCreateSecret(sp.GetRequiredService<Db>(), "token_key"),
            sp.GetRequiredService<TimeProvider>(), TimeSpan.FromMinutes(sp.GetRequiredService<QianbaoOptions>().Auth.TokenLifetimeMinutes)));
        services.AddSingleton(sp => new IdentityKeys(Startup.LoadOrCreateSecret(sp.GetRequiredService<Db>(), "identity_key")));
        services.AddSingleton<RateCounters>();
        services.AddSingleton<Verifications>();
        services.AddSingleton<SecurityEvents>();
        services.AddSingleton<Pins.PaymentPins>();
        services.AddSingleton<Totp.TotpAuthenticator>();
        services.AddSingleton<StepUp>();
        services.AddSingleton<SpendingGate>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<RevokedSessions>();
        services.AddSingleton<Sessions>();
        services.AddHostedService<RevocationWatcher>();
        services.AddHttpContextAccessor(); // TierStore keeps a tier read for the rest of its request
        services.AddSingleton<UserStates>();
        services.AddHostedService<UserStatesListener>();
        services.AddSingleton<TierStore>();
        services.AddSingleton<IdentityReviews>();
        services.AddSingleton<TierGate>();
        services.AddSingleton<TierLimits>();
        return services;
    }

    public static IEndpointRouteBuilder MapIdentityModule(this IEndpointRouteBuilder app)
    {
        RequestVerification.Map(app);
        RegisterUser.Map(app);
        IssueToken.Map(app);
        RefreshToken.Map(app);
        Logout.Map(app);
        ListSessions.Map(app);
        RevokeSession.Map(app);
        ChangePassword.Map(app);
        ResetPassword.Map(app);
        GetMe.Map(app);
        ListSecurityEvents.Map(app);
        LookupRecipient.Map(app);
        VerifyIdentity.Map(app);
        AddBankCard.Map(app);
        GetLimits.Map(app);
        SetUserTier.Map(app);
        GetUserForOperator.Map(app);
        FindUserByPhone.Map(app);
        Pins.SetPaymentPin.Map(app);
        Totp.EnrolTotp.Map(app);
        DataRights.ExportMyData.Map(app);
        DataRights.CloseAccount.Map(app);
        return app;
    }
}
