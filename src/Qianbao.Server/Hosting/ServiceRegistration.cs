using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Adapters.Alipay.Notifications;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Wallet;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Hosting;

public static class ServiceRegistration
{
    public static WebApplicationBuilder AddQianbao(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var options = configuration.GetSection("Qianbao").Get<QianbaoOptions>() ?? new QianbaoOptions();
        if (options.Auth.TokenLifetimeMinutes is < 1 or > 43_200) throw new InvalidOperationException("Qianbao:Auth:TokenLifetimeMinutes must be 1..43200");
        if (options.Auth.PasswordIterations is < 1_000 or > 10_000_000) throw new InvalidOperationException("Qianbao:Auth:PasswordIterations must be 1000..10000000");
        Directory.CreateDirectory(options.DataDir);
        DbValues.RegisterDapperHandlers();

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var postgres = configuration.GetConnectionString("Postgres");
            return string.IsNullOrWhiteSpace(postgres) ? Db.ForSqlite(Path.Combine(options.DataDir, "qianbao.db")) : Db.ForPostgres(postgres);
        });
        services.AddMoney(configuration);

        services.AddSingleton(new PasswordHasher(options.Auth.PasswordIterations));
        services.AddSingleton<UserDirectory>();
        services.AddSingleton(sp => new TokenService(Startup.LoadOrCreateSecret(sp.GetRequiredService<Db>(), "token_key"),
            sp.GetRequiredService<TimeProvider>(), TimeSpan.FromMinutes(options.Auth.TokenLifetimeMinutes)));
        services.AddSingleton(_ => Startup.LoadOperatorKey(options));

        services.AddSingleton(configuration.GetSection("Qianbao:Sandbox").Get<SandboxOptions>() ?? new SandboxOptions());
        services.AddChannels(configuration);
        services.AddSingleton<IChannelOutcomeSink, ChannelSettlement>();
        services.AddSingleton(configuration.GetSection("Qianbao:Holds").Get<HoldMaintenanceOptions>() ?? new HoldMaintenanceOptions());
        services.AddSingleton<HoldMaintenance>();
        services.AddHostedService(sp => sp.GetRequiredService<HoldMaintenance>());

        services.AddGateway(configuration, options);
        services.AddSingleton<Modules.Merchants.MerchantDirectory>();
        services.AddNotifications(configuration);
        services.AddDomainEvents(configuration);

        services.ConfigureHttpJsonOptions(o => JsonDefaults.Configure(o.SerializerOptions));
        services.AddOpenApi();
        services.AddProblemDetails();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1024 * 1024);
        return builder;
    }
}
