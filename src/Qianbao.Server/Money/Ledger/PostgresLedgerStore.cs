using Qianbao.Server.Storage;
using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using Qianbao.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Money.Ledger;

/// <summary>
/// PostgreSQL ledger store: arrays and <c>unnest</c> make every step one statement whatever the batch
/// size, and the lock and write steps each go as one <see cref="NpgsqlBatch"/> round trip.
/// </summary>
public sealed class PostgresLedgerStore(Db db, PipelineParts? parts = null) : LedgerStore(db, parts)
{
    protected override async ValueTask<DbTransaction> BeginAsync(DbConnection connection, CancellationToken ct) =>
        await ((NpgsqlConnection)connection).BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, ct);

    protected override async Task<IReadOnlyList<TransferRecord>> ReadTransfersAsync(DbConnection connection, DbTransaction? tx, Guid[] ids, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(ByPrimaryKey("transfers", TransferColumns), (NpgsqlConnection)connection, (NpgsqlTransaction?)tx);
        cmd.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", ids));
        return await ReadAllAsync(cmd, ReadTransfer, ct);
    }

    protected override async Task<IReadOnlyList<Account>> ReadAccountsAsync(DbConnection connection, DbTransaction? tx, Guid[] ids, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(ByPrimaryKey("accounts", AccountColumns), (NpgsqlConnection)connection, (NpgsqlTransaction?)tx);
        cmd.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", ids));
        return await ReadAllAsync(cmd, r => ReadAccount(r), ct);
    }

    /// <summary>
    /// Row versions of the accounts this store's batches committed, for lock-free batches to skip reading them (issue 13, session
    /// 9: the ledger executor alone then makes one round trip fewer per batch, and PostgreSQL reads no account row). Bounded;
    /// see <see cref="AccountVersions"/> for why a stale entry is safe.
    /// </summary>
    private readonly AccountVersions versions = new(AccountVersionsCapacity);

    /// <summary>Most account row versions remembered (~150 bytes each).</summary>
    internal const int AccountVersionsCapacity = 262_144;

    protected override async Task<(IReadOnlyList<Account> Accounts, IReadOnlyList<TransferRecord> Transfers, HashSet<Guid> FrozenAccounts, object? RowHandles)> LockAccountsAndReadTransfersAsync(
        DbConnection connection, DbTransaction tx, Guid[] orderedAccountIds, Guid[] transferIds, bool withFacts, bool lockRows, CancellationToken ct,
        bool rememberedRows = false)
    {
        var accounts = new List<Account>(orderedAccountIds.Length);
        var rows = new Dictionary<Guid, (string Tid, string Xmin)>(orderedAccountIds.Length);
        var toRead = orderedAccountIds;
        if (rememberedRows && !lockRows)
        {
            var missing = new List<Guid>();
            foreach (var id in orderedAccountIds)
            {
                if (versions.TryGet(id, out var known))
                {
                    accounts.Add(known.Account);
                    rows.Add(id, (known.Tid, known.Xmin));
                }
                else missing.Add(id);
            }
            // Still in id order (a subsequence of the sorted ids).
            toRead = [.. missing];
            if (toRead.Length == 0 && transferIds.Length == 0 && !withFacts) return (accounts, [], [], new RowVersions(rows, lockRows));
        }
        await using var batch = new NpgsqlBatch((NpgsqlConnection)connection, (NpgsqlTransaction)tx);
        // Locked one primary-key probe at a time in the order of the ids, which the caller sorted: every process takes row locks
        // in the same order, so batches never deadlock (the lateral join walks the array in order; see ByPrimaryKey for why
        // not `id = ANY(@ids)`).
        // With each row's ctid: the UPDATE in PersistAsync finds the rows by it instead of probing the primary key again (as
        // text: Npgsql 10 reads tid but cannot write a tid array). With its xmin: the transaction that wrote the version read,
        // which PersistAsync checks so that a lock-free read writes back only the row version it read.
        // Lock-free (lockRows false): FOR UPDATE costs a WAL record and a dirtied page per row, written again by the UPDATE
        // (issue 13, session 8: ~2.5-3x the plain read's time for 400 accounts); see PersistAsync for why skipping it is safe.
        var lockAccounts = new NpgsqlBatchCommand(ByPrimaryKey("accounts", AccountColumns + ", ctid::text AS tid, xmin::text AS xmin", forUpdate: lockRows));
        lockAccounts.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", toRead));
        // Read after the locks: under READ COMMITTED this statement sees every batch that held them before us. Lock-free, a
        // pending transfer read may be changed before we write, but only with its two accounts (a post or void moves their
        // pending balances), so PersistAsync's row-version check fails the attempt then.
        var readTransfers = new NpgsqlBatchCommand(ByPrimaryKey("transfers", TransferColumns));
        readTransfers.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", transferIds));
        batch.BatchCommands.Add(lockAccounts);
        batch.BatchCommands.Add(readTransfers);
        if (withFacts)
        {
            // Same round trip: the facts policies decide on.
            var readFrozen = new NpgsqlBatchCommand(FrozenAccountsSql + " WHERE a.id = ANY(@ids)");
            readFrozen.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", orderedAccountIds));
            batch.BatchCommands.Add(readFrozen);
        }

        var transfers = new List<TransferRecord>();
        var frozen = new HashSet<Guid>();
        await using var reader = await batch.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var account = ReadAccount(reader);
            accounts.Add(account);
            rows.Add(account.Id.Value, (reader.GetString(AccountColumnCount), reader.GetString(AccountColumnCount + 1)));
        }
        await reader.NextResultAsync(ct);
        while (await reader.ReadAsync(ct)) transfers.Add(ReadTransfer(reader));
        if (withFacts)
        {
            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct)) frozen.Add(reader.GetGuid(0));
        }
        return (accounts, transfers, frozen, new RowVersions(rows, lockRows));
    }

    /// <summary>
    /// The account row versions a batch read (ctid and xmin as text, by id), whether it locked them, and the versions its UPDATE
    /// wrote (remembered once it commits).
    /// </summary>
    private sealed record RowVersions(Dictionary<Guid, (string Tid, string Xmin)> Rows, bool Locked)
    {
        public List<AccountVersions.Entry>? Written { get; set; }
    }

    protected override void Committed(object? rowHandles)
    {
        if (rowHandles is RowVersions { Written: { } written })
            foreach (var entry in written) versions.Set(entry);
    }

    /// <summary>A lock-free batch's account UPDATE found a row no longer the version read (see PersistAsync); never leaves the store.</summary>
    private sealed class AccountsChangedSinceRead : Exception;

    /// <summary>
    /// Rows of <paramref name="table"/> whose ids are in the array parameter <c>@ids</c>, in the array's order: one primary-key
    /// probe per id (LATERAL … LIMIT 1 stays a parameterised index lookup). `id = ANY(@ids)` was planned generically by the
    /// auto-prepared statement while the table was empty or small, a sequential scan kept as the table grew (issue 13: 10-15 ms
    /// per batch on a fresh database after a few thousand transfers, 0.5 ms with a custom plan).
    /// </summary>
    private static string ByPrimaryKey(string table, string columns, bool forUpdate = false) =>
        $"SELECT r.* FROM unnest(@ids) WITH ORDINALITY AS u(id, n) CROSS JOIN LATERAL (SELECT {columns} FROM {table} WHERE id = u.id LIMIT 1"
        + (forUpdate ? " FOR UPDATE" : "") + ") AS r ORDER BY u.n";

    protected override async Task<bool> PersistAsync(DbConnection connection, DbTransaction tx, Account[] accounts, object? rowHandles, TransferRecord[] created,
        TransferRecord[] changedPendings, List<StoredResponse> responses, bool keysAssumedFree, IReadOnlyList<IEffect> effects, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch((NpgsqlConnection)connection, (NpgsqlTransaction)tx);
        NpgsqlBatchCommand? updateAccounts = null;
        if (accounts.Length > 0)
        {
            // By ctid (a TID scan, no second primary-key probe and HOT-chain walk per row; −40 % of this statement's time,
            // BENCHMARKS.md session 6), and only the row version read (its ctid AND its xmin, the transaction that wrote it).
            // Locked read: this transaction holds each row's FOR UPDATE lock since LockAccountsAndReadTransfersAsync, so no
            // other transaction can update it (the only thing that gives a live row a new version) until we commit; VACUUM
            // never moves a live tuple, and VACUUM FULL/CLUSTER need a lock that conflicts with ours.
            // Lock-free read (issue 13, session 8): the UPDATE takes the row locks now, in id order (the caller sorted the
            // accounts; the join walks the array), and writes a row only if its live version is still the one read. Any other
            // transaction, in any process, that changed the row since gave it a new version with its own xmin: if it committed
            // before this statement's snapshot, the TID scan finds the old version dead; if it commits while we wait for its lock,
            // READ COMMITTED rechecks the quals on the new version (EvalPlanQual), whose ctid and xmin differ. Either way the row
            // is not written, the count falls short, and the caller rolls back and decides the batch again with the rows locked.
            // ctid alone is not enough (a pruned line pointer can be reused by a later version of the same row); xmin alone
            // would be (only this row's writer has it), ctid finds the row. Freezing a row changes the xmin read (to 2): a
            // spurious retry, never a lost update. So every balance written was computed from the balance it replaces.
            // The id is checked too, and the row count must match, so a wrong ctid fails the batch instead of losing an update.
            var handles = ((RowVersions)rowHandles!).Rows;
            updateAccounts = new NpgsqlBatchCommand("""
                UPDATE accounts a SET debits_posted = u.dp, credits_posted = u.cp, debits_pending = u.dn, credits_pending = u.cn
                FROM unnest(@tid::tid[], @xmin::xid[], @id, @dp, @cp, @dn, @cn) AS u(tid, xmin, id, dp, cp, dn, cn)
                WHERE a.ctid = u.tid AND a.xmin = u.xmin AND a.id = u.id
                RETURNING a.id, a.ctid::text, a.xmin::text
                """);
            var cmd = updateAccounts;
            cmd.Parameters.Add(Array("tid", accounts, a => handles[a.Id.Value].Tid));
            cmd.Parameters.Add(Array("xmin", accounts, a => handles[a.Id.Value].Xmin));
            cmd.Parameters.Add(Array("id", accounts, a => a.Id.Value));
            cmd.Parameters.Add(Array("dp", accounts, a => a.DebitsPosted));
            cmd.Parameters.Add(Array("cp", accounts, a => a.CreditsPosted));
            cmd.Parameters.Add(Array("dn", accounts, a => a.DebitsPending));
            cmd.Parameters.Add(Array("cn", accounts, a => a.CreditsPending));
            batch.BatchCommands.Add(cmd);
        }
        if (changedPendings.Length > 0)
        {
            var cmd = new NpgsqlBatchCommand("UPDATE transfers t SET state = u.state FROM unnest(@id, @state) AS u(id, state) WHERE t.id = u.id");
            cmd.Parameters.Add(Array("id", changedPendings, t => t.Id.Value));
            cmd.Parameters.Add(Array("state", changedPendings, t => (short)t.State));
            batch.BatchCommands.Add(cmd);
        }
        if (responses.Count > 0)
        {
            var rows = responses.ToArray();
            // Plain when the batch did not read its key-free guards: a stored key must fail it (unique violation, transient).
            var cmd = new NpgsqlBatchCommand(keysAssumedFree ? InsertResponsesSql : InsertResponsesSql + " ON CONFLICT DO NOTHING");
            cmd.Parameters.Add(Array("scope", rows, r => r.Scope));
            cmd.Parameters.Add(Array("key", rows, r => r.Key));
            cmd.Parameters.Add(Array("hash", rows, r => r.RequestHash));
            cmd.Parameters.Add(Array("status", rows, r => r.StatusCode));
            cmd.Parameters.Add(Array("body", rows, r => r.Body));
            cmd.Parameters.Add(Array("ts", rows, r => r.CreatedAtUs));
            batch.BatchCommands.Add(cmd);
        }
        // The effects' statements ride in this round trip after the postings' where their writers allow (the batch holds its
        // accounts' locks until commit, and each effect writer was a round trip more); WriteEffectsAsync executes it and runs the
        // row-count check first of all the checks. A lock-free batch that finds an account changed ends there (nothing later
        // runs; its statements, effects included, are rolled back by the caller) and is decided again with the rows locked.
        try
        {
            await Parts.WriteEffectsAsync(connection, tx, effects, batch, () =>
            {
                if (updateAccounts is null || updateAccounts.RecordsAffected == accounts.Length) return;
                // Locked rows cannot have changed: a short count then is a defect, not a race.
                if (((RowVersions)rowHandles!).Locked) throw new InvalidOperationException($"ledger batch updated {updateAccounts.RecordsAffected} of {accounts.Length} locked account rows");
                throw new AccountsChangedSinceRead();
            }, ct, updateAccounts is null ? null : async (reader, token) =>
            {
                // The new row versions, remembered when the batch commits (Committed): the next batch on these accounts need not
                // read them.
                var byId = new Dictionary<Guid, Account>(accounts.Length);
                foreach (var a in accounts) byId[a.Id.Value] = a;
                var written = new List<AccountVersions.Entry>(accounts.Length);
                while (await reader.ReadAsync(token))
                    written.Add(new AccountVersions.Entry(byId[reader.GetGuid(0)], reader.GetString(1), reader.GetString(2)));
                ((RowVersions)rowHandles!).Written = written;
            });
        }
        catch (AccountsChangedSinceRead)
        {
            // What this process remembered of these accounts (if that is what the batch read) is stale: read them next time.
            foreach (var a in accounts) versions.Forget(a.Id.Value);
            return false;
        }
        if (created.Length > 0) await CopyTransfersAsync((NpgsqlConnection)connection, created, ct);
        return true;
    }

    /// <summary>
    /// The new transfers by binary COPY (issue 13, session 8), in this transaction: PostgreSQL's COPY writes heap rows a page
    /// at a time (one WAL record per page, not per row) and skips the executor's unnest over 13 arrays, and the rows are
    /// encoded straight into one buffer here instead of 13 parameter arrays. Two more round trips than a statement in the
    /// batch above, after it: so a lock-free batch whose account check failed writes no transfer. Same table, same
    /// constraints: a stored id still raises unique_violation (so <see cref="InsertFailsOnStoredId"/> holds), and a failed
    /// COPY fails the transaction like a failed INSERT.
    /// </summary>
    private static async Task CopyTransfersAsync(NpgsqlConnection connection, TransferRecord[] created, CancellationToken ct)
    {
        // Insert in id order, like the account locks: two concurrent batches that both hold a duplicate id
        // then wait on each other's unique-index entries in one order, never in a cycle.
        System.Array.Sort(created, static (a, b) => a.Id.Value.CompareTo(b.Id.Value));
        var rows = new TransferCopyRows(created.Length);
        foreach (var t in created) rows.Add(t);
        await using var copy = await connection.BeginRawBinaryCopyAsync("""
            COPY transfers (id, debit_account_id, credit_account_id, amount, currency, code, flags, pending_id,
                            timeout_seconds, reference, timestamp_us, state, expires_at_us) FROM STDIN (FORMAT BINARY)
            """, ct);
        await copy.WriteAsync(rows.Finish(), ct);
    }

    protected override async Task<bool> InsertAccountAsync(DbConnection connection, Account account, Guid? ownerId, long nowUs, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO accounts (id, currency, code, flags, owner_id, created_at_us) VALUES (@id, @currency, @code, @flags, @owner, @now)
            ON CONFLICT (id) DO NOTHING
            """, (NpgsqlConnection)connection);
        cmd.Parameters.Add(new NpgsqlParameter<Guid>("id", account.Id.Value));
        cmd.Parameters.Add(new NpgsqlParameter<string>("currency", account.Currency.Code));
        cmd.Parameters.Add(new NpgsqlParameter<int>("code", account.Code));
        cmd.Parameters.Add(new NpgsqlParameter<int>("flags", (int)account.Flags));
        cmd.Parameters.Add(new NpgsqlParameter("owner", NpgsqlDbType.Uuid) { Value = ownerId.HasValue ? ownerId.Value : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter<long>("now", nowUs));
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    private const string InsertResponsesSql = """
        INSERT INTO idempotency_keys (scope, key, request_hash, status_code, body, created_at_us)
        SELECT * FROM unnest(@scope, @key, @hash, @status, @body, @ts)
        """;

    public override bool SupportsConcurrentBatches => true;

    protected override bool SupportsLockFreeReads => true;

    /// <summary>The transfers INSERT has no ON CONFLICT: a stored id raises unique_violation, which is transient.</summary>
    protected override bool InsertFailsOnStoredId => true;

    /// <summary>Deadlock, serialization failure, or a transfer id a concurrent process inserted first.</summary>
    public override bool IsTransient(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.UniqueViolation };

    private static NpgsqlParameter<TValue[]> Array<TRow, TValue>(string name, IReadOnlyList<TRow> rows, Func<TRow, TValue> select)
    {
        var values = new TValue[rows.Count];
        for (var i = 0; i < values.Length; i++) values[i] = select(rows[i]);
        return new NpgsqlParameter<TValue[]>(name, values);
    }

    private static async Task<IReadOnlyList<T>> ReadAllAsync<T>(NpgsqlCommand cmd, Func<DbDataReader, T> read, CancellationToken ct)
    {
        var list = new List<T>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) list.Add(read(reader));
        return list;
    }
}
