using System.Security.Cryptography;
using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Hosting;

/// <summary>What must be true before the first request: schema migrated, keys in place, system accounts open.</summary>
public static class Startup
{
    public static async Task InitializeAsync(IServiceProvider services, CancellationToken ct = default)
    {
        // Configuration first: a bad value must stop the server before it touches the database.
        StartupValidation.ThrowIfConfigurationInvalid(services);
        var options = services.GetRequiredService<QianbaoOptions>();
        Directory.CreateDirectory(options.DataDir);
        var db = services.GetRequiredService<Db>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Qianbao.Startup");
        await Migrator.MigrateAsync(db, logger, ct);
        await DatabaseMode.EnsureAsync(db, options.Mode, ct);
        // The data keys are checked against the database before anything is sealed with them; rows from before sealing
        // (migration 0016) are converted before the first request can look one up.
        services.GetRequiredService<Storage.PersonalData.PersonalDataProtector>();
        await Storage.PersonalData.PlaintextUpgrades.RunAsync(services, logger, ct);
        // On the console, not only in the log: whoever starts the server must see which money it moves.
        Console.WriteLine(ModeBanner.Line(options.Mode, OptionsCatalog.DefaultChannel(services.GetRequiredService<IConfiguration>())));
        // Resolve the keys now, not on first use: a generated operator key is printed at start.
        services.GetRequiredService<OperatorKey>();
        services.GetRequiredService<TokenService>();
        services.GetRequiredService<Adapters.Alipay.PlatformKeyRing>();
        var accounts = services.GetRequiredService<LedgerAccounts>();
        var channel = services.GetRequiredService<IFundingChannel>();
        await accounts.EnsureAsync(ChartOfAccounts.ChannelClearing(channel.Name, Currency.Cny), null, ct);
        await accounts.EnsureAsync(ChartOfAccounts.FeeRevenue(Currency.Cny), null, ct);
        logger.LogInformation("Qianbao ready on {Engine}", db.Engine);
    }

    /// <summary>
    /// A secret shared by every server process on the database: created once (first writer wins, enforced
    /// by the primary key), then read.
    /// </summary>
    public static byte[] LoadOrCreateSecret(Db db, string name)
    {
        using var connection = db.OpenAsync().AsTask().GetAwaiter().GetResult();
        var candidate = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        connection.Execute("INSERT INTO settings (name, value) VALUES (@name, @candidate) ON CONFLICT (name) DO NOTHING", new { name, candidate });
        return Convert.FromBase64String(connection.QuerySingle<string>("SELECT value FROM settings WHERE name = @name", new { name }));
    }

    /// <summary>
    /// The configured operator key, or (sandbox mode only) the one kept in the data directory, generated and printed
    /// once on first start. Production mode never gets here without a configured key: <see cref="ProductionModeRules"/>
    /// refuses to start, because a credential printed to a console ends up in log collectors.
    /// </summary>
    public static OperatorKey LoadOperatorKey(QianbaoOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.OperatorKey)) return new OperatorKey(options.OperatorKey.Trim());
        if (options.Mode != QianbaoMode.Sandbox) throw new ConfigurationRefusedException(["Qianbao:OperatorKey must be set in production mode (was unset)"]);
        var path = Path.Combine(options.DataDir, "operator-key");
        if (File.Exists(path)) return new OperatorKey(File.ReadAllText(path).Trim());
        var key = "qbop_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        File.WriteAllText(path, key + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        // Printed to the console once, deliberately not through the logger: logs never carry keys.
        Console.WriteLine($"Generated operator key (kept in {path}): {key}");
        return new OperatorKey(key);
    }
}
