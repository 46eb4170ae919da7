using System.Reflection;
using Dapper;

namespace Qianbao.Server.Storage;

/// <summary>
/// Applies the versioned SQL migrations embedded for the engine (Storage/Migrations/&lt;Engine&gt;/NNNN_name.sql)
/// in order, each in its own transaction, recording them in <c>schema_migrations</c>. On PostgreSQL an
/// advisory lock makes concurrent starts of several server processes safe.
/// </summary>
public static class Migrator
{
    private const long AdvisoryLockKey = 0x5141_4E42_414F; // "QIANBAO"

    public static async Task MigrateAsync(Db db, ILogger logger, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        if (db.Engine == DatabaseEngine.Postgres)
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@k)", new { k = AdvisoryLockKey }, cancellationToken: ct));
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at_us bigint NOT NULL)",
                cancellationToken: ct));
            var applied = (await connection.QueryAsync<int>(new CommandDefinition("SELECT version FROM schema_migrations", cancellationToken: ct))).ToHashSet();
            foreach (var (version, name, sql) in Load(db.Engine))
            {
                if (applied.Contains(version)) continue;
                await using var tx = await connection.BeginTransactionAsync(ct);
                await connection.ExecuteAsync(new CommandDefinition(sql, transaction: tx, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO schema_migrations (version, name, applied_at_us) VALUES (@version, @name, @now)",
                    new { version, name, now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000 }, tx, cancellationToken: ct));
                await tx.CommitAsync(ct);
                logger.LogInformation("Applied migration {Version} {Name} on {Engine}", version, name, db.Engine);
            }
        }
        finally
        {
            if (db.Engine == DatabaseEngine.Postgres)
                await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_unlock(@k)", new { k = AdvisoryLockKey }, cancellationToken: CancellationToken.None));
        }
    }

    private static IEnumerable<(int Version, string Name, string Sql)> Load(DatabaseEngine engine)
    {
        var assembly = Assembly.GetExecutingAssembly();
        var prefix = $"Qianbao.Server.Storage.Migrations.{engine}.";
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var file = resource[prefix.Length..];
            var version = int.Parse(file[..4], System.Globalization.CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            yield return (version, file[5..^4], reader.ReadToEnd());
        }
    }
}
