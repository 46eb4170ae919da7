using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Qianbao.Server.Storage;

public enum DatabaseEngine { Sqlite, Postgres }

/// <summary>
/// Opens connections to the configured engine. SQLite is the embedded default (WAL, synchronous=FULL,
/// so a committed transaction survives power loss); PostgreSQL is used when a connection string is set.
/// </summary>
public sealed class Db : IAsyncDisposable
{
    /// <summary>Connections the ledger executor's batches use: a pool of their own, so request handlers can never starve the commit path.</summary>
    public const int LedgerPoolSize = 4;

    /// <summary>Connections of <see cref="OpenForHistoryAsync"/>: history pages are short reads, so a few serve many readers.</summary>
    public const int HistoryPoolSize = 16;

    private readonly PostgresSlotWait? postgres;
    private readonly PostgresSlotWait? postgresLedger;
    private readonly PostgresSlotWait? postgresHistory;
    private readonly NpgsqlDataSource? postgresListen;
    private readonly string? sqliteConnectionString;

    private Db(DatabaseEngine engine, PostgresSlotWait? postgres, PostgresSlotWait? postgresLedger, PostgresSlotWait? postgresHistory,
        NpgsqlDataSource? postgresListen, string? sqliteConnectionString)
    {
        Engine = engine;
        this.postgres = postgres;
        this.postgresLedger = postgresLedger;
        this.postgresHistory = postgresHistory;
        this.postgresListen = postgresListen;
        this.sqliteConnectionString = sqliteConnectionString;
    }

    public DatabaseEngine Engine { get; }

    /// <param name="logger">Told when PostgreSQL has no free connection slot and requests wait for one.</param>
    public static Db ForPostgres(string connectionString, ILogger? logger = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Durability is the database's job: never let a caller's setting turn synchronous_commit off.
        builder.Options = ((builder.Options ?? "") + " -c synchronous_commit=on").Trim();
        // Request handlers repeat a few dozen statement shapes; preparing them saves PostgreSQL a parse and plan each time.
        if (builder.MaxAutoPrepare == 0) { builder.MaxAutoPrepare = 64; builder.AutoPrepareMinUsages = 2; }
        // A pooled connection is handed back as it is: no session state is left on one (transaction-scoped advisory locks, no
        // SET; LISTEN only on OpenForListenAsync's unpooled connections; the migrator unlocks its session lock), and the reset
        // Npgsql sends otherwise costs PostgreSQL seven statements on the next use of every connection (BENCHMARKS.md, issue 13).
        builder.NoResetOnClose = true;
        // The batch statements run thousands of times with the same shape: prepared, their generic plans probe the
        // primary key instead of scanning and hashing the whole accounts table for every batch (see BENCHMARKS.md).
        var ledger = new NpgsqlConnectionStringBuilder(builder.ConnectionString)
        {
            MaxPoolSize = LedgerPoolSize, MinPoolSize = 1, ApplicationName = "qianbao-ledger", MaxAutoPrepare = 32, AutoPrepareMinUsages = 2,
        };
        // A full PostgreSQL is waited for as long as our own full pool would be: the connection Timeout.
        var slotWaitMax = TimeSpan.FromSeconds(builder.Timeout);
        var listen = new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false, NoResetOnClose = false, ApplicationName = "qianbao-listen" };
        // History pages walk (account, seq) indexes backwards; the planner, guessing a few entries per account, would fetch a
        // long history whole by bitmap and sort it instead. The setting is the session's from its start, so a page is one
        // round trip (no BEGIN, SET LOCAL, COMMIT) and no other statement runs with it.
        var history = new NpgsqlConnectionStringBuilder(builder.ConnectionString)
        {
            MaxPoolSize = Math.Min(HistoryPoolSize, builder.MaxPoolSize), ApplicationName = "qianbao-history",
            // Multiplexing: the pages of concurrent readers share the pool's connections, several statements written in one send
            // and their answers read in one receive, so PostgreSQL's backends and the server wake once per burst instead of once
            // per page (BENCHMARKS.md, issue 13, session 9). Safe here because a history read is one autocommit read-only
            // statement with no session state (the bitmap setting is the connection's from its start, the same on every one).
            Multiplexing = true,
        };
        history.Options = (history.Options + " -c enable_bitmapscan=off").Trim();
        return new Db(DatabaseEngine.Postgres,
            new PostgresSlotWait(NpgsqlDataSource.Create(builder.ConnectionString), slotWaitMax, logger),
            new PostgresSlotWait(NpgsqlDataSource.Create(ledger.ConnectionString), slotWaitMax, logger),
            new PostgresSlotWait(NpgsqlDataSource.Create(history.ConnectionString), slotWaitMax, logger),
            NpgsqlDataSource.Create(listen.ConnectionString), null);
    }

    public static Db ForSqlite(string databasePath)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        };
        return new Db(DatabaseEngine.Sqlite, null, null, null, null, builder.ConnectionString);
    }

    /// <summary>A connection for one ledger batch, from the executor's own pool.</summary>
    public async ValueTask<DbConnection> OpenForLedgerBatchAsync(CancellationToken ct = default) =>
        postgresLedger is not null ? await postgresLedger.OpenAsync(ct) : await OpenAsync(ct);

    /// <summary>
    /// A connection for a ledger history read (<see cref="Money.LedgerHistory"/>): on PostgreSQL from a pool of its own whose
    /// sessions have bitmap scans off; read-only statements only.
    /// </summary>
    public async ValueTask<DbConnection> OpenForHistoryAsync(CancellationToken ct = default) =>
        postgresHistory is not null ? await postgresHistory.OpenAsync(ct) : await OpenAsync(ct);

    /// <summary>
    /// A PostgreSQL connection of its own (not pooled) for a long-lived <c>LISTEN</c>: pooled connections are returned without a
    /// reset, so a LISTEN on one would outlive its listener.
    /// </summary>
    public async ValueTask<NpgsqlConnection> OpenForListenAsync(CancellationToken ct = default) =>
        postgresListen is not null ? await postgresListen.OpenConnectionAsync(ct) : throw new InvalidOperationException("LISTEN needs PostgreSQL");

    public async ValueTask<DbConnection> OpenAsync(CancellationToken ct = default)
    {
        if (postgres is not null) return await postgres.OpenAsync(ct);

        var connection = new SqliteConnection(sqliteConnectionString);
        await connection.OpenAsync(ct);
        await using var pragma = connection.CreateCommand();
        // synchronous and busy_timeout are per connection, so they are set on every open.
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;";
        await pragma.ExecuteNonQueryAsync(ct);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (postgres is not null) await postgres.Source.DisposeAsync();
        if (postgresLedger is not null) await postgresLedger.Source.DisposeAsync();
        if (postgresHistory is not null) await postgresHistory.Source.DisposeAsync();
        if (postgresListen is not null) await postgresListen.DisposeAsync();
        if (sqliteConnectionString is not null) SqliteConnection.ClearAllPools();
    }
}
