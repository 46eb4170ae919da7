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
    private readonly NpgsqlDataSource? postgres;
    private readonly string? sqliteConnectionString;

    private Db(DatabaseEngine engine, NpgsqlDataSource? postgres, string? sqliteConnectionString)
    {
        Engine = engine;
        this.postgres = postgres;
        this.sqliteConnectionString = sqliteConnectionString;
    }

    public DatabaseEngine Engine { get; }

    public static Db ForPostgres(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Durability is the database's job: never let a caller's setting turn synchronous_commit off.
        builder.Options = ((builder.Options ?? "") + " -c synchronous_commit=on").Trim();
        return new Db(DatabaseEngine.Postgres, NpgsqlDataSource.Create(builder.ConnectionString), null);
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
        return new Db(DatabaseEngine.Sqlite, null, builder.ConnectionString);
    }

    public async ValueTask<DbConnection> OpenAsync(CancellationToken ct = default)
    {
        if (postgres is not null) return await postgres.OpenConnectionAsync(ct);

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
        if (postgres is not null) await postgres.DisposeAsync();
        if (sqliteConnectionString is not null) SqliteConnection.ClearAllPools();
    }
}
