using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Qianbao.Server.Storage;

/// <summary>One statement of a <see cref="SqlBatch"/>: SQL both engines accept and its named parameters (without '@').</summary>
public sealed record SqlStatement(string Sql, IReadOnlyDictionary<string, object?> Parameters);

/// <summary>
/// Runs a module's statements inside a transaction someone else opened (the ledger batch's): on PostgreSQL as
/// one <see cref="NpgsqlBatch"/> round trip, on SQLite (in-process, so round trips are free) one after the other.
/// Ids may be passed as <see cref="Guid"/>s; SQLite gets their canonical text.
/// </summary>
public static class SqlBatch
{
    /// <summary>
    /// Appended to a SELECT inside a transaction to lock the rows it finds until commit: <c> FOR UPDATE</c> on
    /// PostgreSQL; nothing on SQLite, whose single writer (<c>BEGIN IMMEDIATE</c>) already serializes.
    /// </summary>
    public static string LockRows(DbConnection connection) => connection is NpgsqlConnection ? " FOR UPDATE" : "";

    /// <summary>Executes <paramref name="statements"/> in order.</summary>
    public static async ValueTask ExecuteAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<SqlStatement> statements, CancellationToken ct)
    {
        if (statements.Count == 0) return;
        if (connection is NpgsqlConnection pg)
        {
            await using var batch = Batch(pg, (NpgsqlTransaction)tx, statements);
            await batch.ExecuteNonQueryAsync(ct);
            return;
        }
        foreach (var statement in statements)
        {
            await using var cmd = Sqlite((SqliteConnection)connection, (SqliteTransaction)tx, statement);
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>Runs each query and answers, per statement in order, whether it returned a row.</summary>
    public static async ValueTask<bool[]> AnyRowsAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<SqlStatement> queries, CancellationToken ct)
    {
        var found = new bool[queries.Count];
        if (queries.Count == 0) return found;
        if (connection is NpgsqlConnection pg)
        {
            await using var batch = Batch(pg, (NpgsqlTransaction)tx, queries);
            await using var reader = await batch.ExecuteReaderAsync(ct);
            for (var i = 0; i < found.Length; i++)
            {
                found[i] = await reader.ReadAsync(ct);
                while (await reader.ReadAsync(ct)) { }
                await reader.NextResultAsync(ct);
            }
            return found;
        }
        for (var i = 0; i < found.Length; i++)
        {
            await using var cmd = Sqlite((SqliteConnection)connection, (SqliteTransaction)tx, queries[i]);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            found[i] = await reader.ReadAsync(ct);
        }
        return found;
    }

    private static NpgsqlBatch Batch(NpgsqlConnection connection, NpgsqlTransaction tx, IReadOnlyList<SqlStatement> statements)
    {
        var batch = new NpgsqlBatch(connection, tx);
        AddTo(batch, statements);
        return batch;
    }

    /// <summary>Appends <paramref name="statements"/> to a PostgreSQL batch someone else executes (the ledger batch's write round trip).</summary>
    public static void AddTo(NpgsqlBatch batch, IReadOnlyList<SqlStatement> statements)
    {
        foreach (var statement in statements)
        {
            var cmd = new NpgsqlBatchCommand(statement.Sql);
            foreach (var (name, value) in statement.Parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
            batch.BatchCommands.Add(cmd);
        }
    }

    private static SqliteCommand Sqlite(SqliteConnection connection, SqliteTransaction tx, SqlStatement statement)
    {
        var cmd = connection.CreateCommand();
        cmd.CommandText = statement.Sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in statement.Parameters)
            cmd.Parameters.AddWithValue("@" + name, value switch { null => DBNull.Value, Guid g => g.ToString(), bool b => b ? 1 : 0, var v => v });
        return cmd;
    }
}
