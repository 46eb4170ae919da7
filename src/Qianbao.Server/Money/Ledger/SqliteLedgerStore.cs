using Qianbao.Server.Storage;
using System.Data.Common;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Qianbao.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Money.Ledger;

/// <summary>
/// SQLite ledger store. SQLite has one writer at a time, so <c>BEGIN IMMEDIATE</c> is the lock; round
/// trips are in-process calls, so rows are written with one prepared statement executed per row.
/// Sets of ids are passed as one JSON array and expanded with <c>json_each</c>.
/// </summary>
public sealed class SqliteLedgerStore(Db db, PipelineParts? parts = null) : LedgerStore(db, parts)
{
    protected override ValueTask<DbTransaction> BeginAsync(DbConnection connection, CancellationToken ct) =>
        // Not deferred: BEGIN IMMEDIATE takes the write lock now, so the reads below see the latest commit.
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    protected override Task<IReadOnlyList<TransferRecord>> ReadTransfersAsync(DbConnection connection, DbTransaction? tx, Guid[] ids, CancellationToken ct) =>
        ReadAllAsync(connection, tx, $"SELECT {TransferColumns} FROM transfers WHERE id IN (SELECT value FROM json_each(@ids))", ids, ReadTransfer, ct);

    protected override Task<IReadOnlyList<Account>> ReadAccountsAsync(DbConnection connection, DbTransaction? tx, Guid[] ids, CancellationToken ct) =>
        ReadAllAsync(connection, tx, $"SELECT {AccountColumns} FROM accounts WHERE id IN (SELECT value FROM json_each(@ids))", ids, r => ReadAccount(r), ct);

    protected override async Task<(IReadOnlyList<Account> Accounts, IReadOnlyList<TransferRecord> Transfers, HashSet<Guid> FrozenAccounts, object? RowHandles)> LockAccountsAndReadTransfersAsync(
        DbConnection connection, DbTransaction tx, Guid[] orderedAccountIds, Guid[] transferIds, bool withFacts, bool lockRows, CancellationToken ct,
        bool rememberedRows = false)
    {
        var accounts = await ReadAccountsAsync(connection, tx, orderedAccountIds, ct);
        var transfers = await ReadTransfersAsync(connection, tx, transferIds, ct);
        var frozen = new HashSet<Guid>();
        if (withFacts)
        {
            foreach (var id in await ReadAllAsync(connection, tx, FrozenAccountsSql + " WHERE a.id IN (SELECT value FROM json_each(@ids))", orderedAccountIds,
                         r => r.ReadId(0), ct))
                frozen.Add(id);
        }
        return (accounts, transfers, frozen, null);
    }

    protected override async Task<bool> PersistAsync(DbConnection connection, DbTransaction tx, Account[] accounts, object? rowHandles, TransferRecord[] created,
        TransferRecord[] changedPendings, List<StoredResponse> responses, bool keysAssumedFree, IReadOnlyList<IEffect> effects, CancellationToken ct)
    {
        // keysAssumedFree is never set here: SQLite does not assume new ids (InsertFailsOnStoredId is false).
        var c = (SqliteConnection)connection;
        var t = (SqliteTransaction)tx;
        if (accounts.Length > 0)
        {
            await using var cmd = Prepare(c, t, """
                UPDATE accounts SET debits_posted = @dp, credits_posted = @cp, debits_pending = @dn, credits_pending = @cn WHERE id = @id
                """, "@id", "@dp", "@cp", "@dn", "@cn");
            foreach (var a in accounts)
            {
                Bind(cmd, a.Id.Value.ToString(), a.DebitsPosted, a.CreditsPosted, a.DebitsPending, a.CreditsPending);
                Invariant.That(await cmd.ExecuteNonQueryAsync(ct) == 1, "a locked account row must be updated");
            }
        }
        if (created.Length > 0)
        {
            await using var cmd = Prepare(c, t, """
                INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, code, flags, pending_id,
                                       timeout_seconds, reference, timestamp_us, state, expires_at_us)
                VALUES (@id, @dr, @cr, @amount, @currency, @code, @flags, @pending, @timeout, @reference, @ts, @state, @expires)
                """, "@id", "@dr", "@cr", "@amount", "@currency", "@code", "@flags", "@pending", "@timeout", "@reference", "@ts", "@state", "@expires");
            foreach (var r in created)
            {
                Bind(cmd, r.Id.Value.ToString(), r.DebitAccountId.Value.ToString(), r.CreditAccountId.Value.ToString(), r.Amount,
                    r.Currency.Code, (int)r.Code, (int)r.Flags, r.PendingId.IsZero ? null : r.PendingId.Value.ToString(),
                    (long)r.TimeoutSeconds, r.Reference, r.TimestampUs, (int)r.State, r.ExpiresAtUs);
                await cmd.ExecuteNonQueryAsync(ct);
            }
        }
        if (changedPendings.Length > 0)
        {
            await using var cmd = Prepare(c, t, "UPDATE transfers SET state = @state WHERE id = @id", "@id", "@state");
            foreach (var p in changedPendings)
            {
                Bind(cmd, p.Id.Value.ToString(), (int)p.State);
                await cmd.ExecuteNonQueryAsync(ct);
            }
        }
        if (responses.Count > 0)
        {
            await using var cmd = Prepare(c, t, """
                INSERT INTO idempotency_keys (scope, key, request_hash, status_code, body, created_at_us)
                VALUES (@scope, @key, @hash, @status, @body, @ts) ON CONFLICT DO NOTHING
                """, "@scope", "@key", "@hash", "@status", "@body", "@ts");
            foreach (var r in responses)
            {
                Bind(cmd, r.Scope, r.Key, r.RequestHash, r.StatusCode, r.Body, r.CreatedAtUs);
                await cmd.ExecuteNonQueryAsync(ct);
            }
        }
        if (effects.Count > 0) await Parts.WriteEffectsAsync(connection, tx, effects, null, null, ct);
        // The batch holds the database's one write lock (BEGIN IMMEDIATE): its accounts cannot have changed since it read them.
        return true;
    }

    private static SqliteCommand Statement(SqliteConnection c, SqliteTransaction t, string sql, IReadOnlyDictionary<string, object?> parameters)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = t;
        foreach (var (name, value) in parameters)
            cmd.Parameters.AddWithValue("@" + name, value switch { null => DBNull.Value, Guid g => g.ToString(), bool b => b ? 1 : 0, var v => v });
        return cmd;
    }

    protected override async Task<bool> InsertAccountAsync(DbConnection connection, Account account, Guid? ownerId, long nowUs, CancellationToken ct)
    {
        await using var cmd = Prepare((SqliteConnection)connection, null, """
            INSERT INTO accounts (id, currency, code, flags, owner_id, created_at_us) VALUES (@id, @currency, @code, @flags, @owner, @now)
            ON CONFLICT (id) DO NOTHING
            """, "@id", "@currency", "@code", "@flags", "@owner", "@now");
        Bind(cmd, account.Id.Value.ToString(), account.Currency.Code, (int)account.Code, (int)account.Flags, ownerId?.ToString(), nowUs);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public override bool SupportsConcurrentBatches => false;

    /// <summary>SQLite serializes writers itself; a busy database after the timeout is not worth a blind retry.</summary>
    public override bool IsTransient(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: 5 /* SQLITE_BUSY */ };

    private static SqliteCommand Prepare(SqliteConnection c, SqliteTransaction? t, string sql, params string[] names)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = t;
        foreach (var name in names) cmd.Parameters.Add(new SqliteParameter { ParameterName = name });
        return cmd;
    }

    private static void Bind(SqliteCommand cmd, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++) cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
    }

    private static async Task<IReadOnlyList<T>> ReadAllAsync<T>(DbConnection connection, DbTransaction? tx, string sql, Guid[] ids,
        Func<DbDataReader, T> read, CancellationToken ct)
    {
        await using var cmd = Prepare((SqliteConnection)connection, (SqliteTransaction?)tx, sql, "@ids");
        Bind(cmd, JsonSerializer.Serialize(ids.Select(i => i.ToString())));
        var list = new List<T>(ids.Length);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) list.Add(read(reader));
        return list;
    }
}
