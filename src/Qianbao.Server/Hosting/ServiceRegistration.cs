using Qianbao.Server.Adapters.Alipay.Notifications;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Consoles;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Analytics;
using Qianbao.Server.Modules.Complaints;
using Qianbao.Server.Modules.Holds;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Modules.Messaging;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Modules.RedPackets;
using Qianbao.Server.Modules.Memberships;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Modules.Recommendations;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Modules.Cashback;
using Qianbao.Server.Modules.Risk;
using Qianbao.Server.Modules.Wallet;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;
using Qianbao.Server.Storage.PersonalData;

namespace Qianbao.Server.Hosting;

public static class ServiceRegistration
{
    public static WebApplicationBuilder AddQianbao(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        // Values the binder cannot even convert are refused before anything binds, as one line per key.
        var unconvertible = OptionsCatalog.CheckRawValues(configuration);
        if (unconvertible.Count > 0) throw new ConfigurationRefusedException(unconvertible);
        DbValues.RegisterDapperHandlers();

        var services = builder.Services;
        // Every options class is bound, validated at start and resolvable as the plain object (see OptionsCatalog).
        services.AddQianbaoOptions(configuration);
        ProductionModeRules.Register(services);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var postgres = configuration.GetConnectionString("Postgres");
            if (!string.IsNullOrWhiteSpace(postgres)) return Db.ForPostgres(postgres, sp.GetRequiredService<ILogger<Db>>());
            var dataDir = sp.GetRequiredService<QianbaoOptions>().DataDir;
            Directory.CreateDirectory(dataDir);
            return Db.ForSqlite(Path.Combine(dataDir, "qianbao.db"));
        });

        // Personal data is sealed and indexed with keys kept outside the database (Storage/PersonalData).
        services.AddPersonalData();

        // The money pipeline and the event outbox, then the capability modules, then the protocol adapters.
        services.AddMoney(configuration);
        services.AddDomainEvents(configuration);
        services.AddOperatorsModule();
        services.AddMessagingModule(configuration);
        services.AddIdentityModule();
        services.AddWalletModule();
        services.AddChannels(configuration);
        services.AddMerchantsModule();
        services.AddAcquiringModule();
        services.AddRiskModule();
        services.AddHoldsModule();
        services.AddComplaintsModule();
        services.AddMarketingModule();
        services.AddRedPacketsModule();
        services.AddPointsModule();
        services.AddCashbackModule();
        services.AddMembershipsModule();
        services.AddNotificationsModule();
        services.AddRecommendationsModule();
        services.AddAnalyticsModule();
        services.AddGateway(configuration);
        services.AddNotifications(configuration);
        // The web consoles last: they are clients of everything above.
        services.AddConsoles();

        services.ConfigureHttpJsonOptions(o => JsonDefaults.Configure(o.SerializerOptions));
        services.AddOpenApi(OperatorOpenApi.Configure);
        services.AddProblemDetails();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1024 * 1024);
        return builder;
    }
}
