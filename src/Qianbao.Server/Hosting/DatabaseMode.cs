using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Hosting;

/// <summary>
/// A database remembers the mode it was first started in (the <c>mode</c> row of <c>settings</c>, first writer
/// wins), and a server in the other mode refuses to start on it: test money never meets real money. Without this,
/// a sandbox server pointed at a production database would confirm top-ups from the sandbox bank, minting money,
/// and a production server on a sandbox database would treat test balances as real.
/// </summary>
public static class DatabaseMode
{
    private const string SettingName = "mode";

    public static async Task EnsureAsync(Db db, QianbaoMode mode, CancellationToken ct)
    {
        var wanted = OptionsRules.Format(mode)!;
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO settings (name, value) VALUES (@SettingName, @wanted) ON CONFLICT (name) DO NOTHING", new { SettingName, wanted }, cancellationToken: ct));
        var recorded = await connection.QuerySingleAsync<string>(new CommandDefinition(
            "SELECT value FROM settings WHERE name = @SettingName", new { SettingName }, cancellationToken: ct));
        if (!recorded.Equals(wanted, StringComparison.Ordinal))
        {
            throw new ConfigurationRefusedException([
                $"Qianbao:Mode must be {recorded} for this database (was {wanted}): it was created in {recorded} mode, and test money "
                + "never meets real money; use a fresh database for the other mode",
            ]);
        }
    }
}
