using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Channels;

/// <summary>Migration 0005 drops the local timeout from channel holds still pending, and touches nothing else.</summary>
public abstract class ChannelHoldMigrationTests(DatabaseEngine engine)
{
    [Fact]
    public async Task PendingChannelHoldsLoseTheirTimeoutAndNothingElseChanges()
    {
        DbValues.RegisterDapperHandlers();
        var db = engine == DatabaseEngine.Postgres
            ? Db.ForPostgres(await PostgresCluster.Shared.CreateDatabaseAsync("chanmig"))
            : Db.ForSqlite(Path.Combine(Directory.CreateTempSubdirectory("qianbao-chanmig-").FullName, "qianbao.db"));
        await Migrator.MigrateAsync(db, NullLogger.Instance);

        // (code, flags, state): pending top-up, pending withdrawal, posted withdrawal, pending royalty freeze (code 8).
        var rows = new (int Code, int Flags, int State)[] { (1, 2, 1), (2, 2, 1), (2, 2, 2), (8, 2, 1) }
            .Select(r => (Id: Guid.CreateVersion7(), r.Code, r.Flags, r.State)).ToArray();
        await using (var connection = await db.OpenAsync())
        {
            foreach (var row in rows)
                await connection.ExecuteAsync(
                    """
                    INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, code, flags, pending_id, timeout_seconds,
                                           reference, timestamp_us, state, expires_at_us)
                    VALUES (@id, @debit, @credit, 100, 'CNY', @code, @flags, NULL, 86400, NULL, 1000000, @state, 86401000000)
                    """, new { id = row.Id, debit = Guid.CreateVersion7(), credit = Guid.CreateVersion7(), code = row.Code, flags = row.Flags, state = row.State });

            var resource = typeof(Migrator).Assembly.GetManifestResourceNames()
                .Single(n => n.EndsWith($".{engine}.0005_channel_holds_without_timeout.sql", StringComparison.Ordinal));
            using var reader = new StreamReader(typeof(Migrator).Assembly.GetManifestResourceStream(resource)!);
            await connection.ExecuteAsync(await reader.ReadToEndAsync());

            foreach (var (row, cleared) in rows.Zip(new[] { true, true, false, false }))
            {
                var (timeout, expires) = await connection.QuerySingleAsync<(long, long)>(
                    "SELECT timeout_seconds, expires_at_us FROM transfers WHERE id = @id", new { id = row.Id });
                (timeout, expires).ShouldBe(cleared ? (0L, 0L) : (86_400L, 86_401_000_000L), $"code {row.Code} state {row.State}");
            }
        }
    }
}

public sealed class SqliteChannelHoldMigrationTests() : ChannelHoldMigrationTests(DatabaseEngine.Sqlite);

public sealed class PostgresChannelHoldMigrationTests() : ChannelHoldMigrationTests(DatabaseEngine.Postgres);
