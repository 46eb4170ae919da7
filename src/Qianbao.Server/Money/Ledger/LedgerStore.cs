using Qianbao.Server.Storage;
using System.Data.Common;
using System.Diagnostics;
using Qianbao.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Money.Ledger;

/// <summary>
/// Applies batches of ledger commands in one database transaction each, with a fixed number of round
/// trips however large the batch: (1) read the pending transfers that posts and voids name, to learn
/// their accounts; (2) lock every account the batch touches in id order and read the transfers it names;
/// (3) apply in memory with <see cref="LedgerWorkingSet"/>; (4) write changed accounts, new transfers,
/// changed holds and stored responses; commit. Locking accounts in a stable order keeps several server
/// processes on one PostgreSQL correct and deadlock-free; the transfers primary key is the final word
/// on "applied at most once". On PostgreSQL a batch first reads its accounts without locking them and writes back only
/// the row versions it read (the UPDATE takes the locks then, in the same order); one that finds an account changed by
/// another transaction meanwhile is rolled back and decided again with the accounts locked (see ApplyBatchAsync).
/// </summary>
public abstract class LedgerStore(Db db, PipelineParts? parts)
{
    protected Db Db { get; } = db;

    /// <summary>The modules' guard checkers, effect writers and the movement policies.</summary>
    protected PipelineParts Parts { get; } = parts ?? PipelineParts.None;

    /// <summary>Where this store's batches spend their time, summed since start.</summary>
    public LedgerPhaseTimes Phases { get; } = new();

    /// <summary>Applies <paramref name="batch"/> durably and returns one result array per command, in order.</summary>
    /// <param name="assumeNewIds">
    /// Do not read the batch's own transfer ids first (only the pending transfers it posts or voids): assume none is stored yet.
    /// Only where <see cref="InsertFailsOnStoredId"/>: a stored id then fails the batch's insert (a unique violation, which
    /// <see cref="IsTransient"/> accepts), and the caller applies the batch again without the assumption, reading them. So a
    /// replayed id still gets its stored result, and the usual batch, all new ids, skips one primary-key probe per transfer.
    /// A batch in which any transfer is not created under the assumption (refused, or its command guarded out) is decided again
    /// with its ids read before anything is written: a replay the balance can no longer pay would otherwise answer refused.
    /// </param>
    /// <param name="lockFree">
    /// Read the accounts without locking them and write them back only if each is still the row version read (where
    /// <see cref="MayReadLockFree"/>). A batch that finds one changed is decided again with the rows locked, so the outcome
    /// is the locked one's.
    /// </param>
    public async Task<TransferResult[][]> ApplyBatchAsync(IReadOnlyList<LedgerCommand> batch, long nowUs, CancellationToken ct, bool assumeNewIds = false,
        bool lockFree = false) =>
        await ApplyOnceAsync(batch, nowUs, assumeNewIds && InsertFailsOnStoredId, lockFree && MayReadLockFree(batch, assumeNewIds), ct)
        ?? await ApplyOnceAsync(batch, nowUs, assumeNewIds: false, lockFree: false, ct)
        ?? throw new InvalidOperationException("a batch applied with its ids read and its accounts locked always has an answer");

    /// <summary>
    /// Whether an attempt of <paramref name="batch"/> (under <paramref name="assumeNewIds"/>, as asked of ApplyBatchAsync) may
    /// read its accounts lock-free: where <see cref="SupportsLockFreeReads"/>, and when it checks no guard, since a checker locks
    /// its own rows, some after the accounts'. An idempotency key assumed free is not checked (the response's INSERT is its
    /// check), so a batch of keyed transfers and payments without other guards reads lock-free too (issue 13: before, every
    /// HTTP batch locked its accounts, a WAL record and a dirtied page per row, and never used the remembered rows).
    /// </summary>
    internal bool MayReadLockFree(IReadOnlyList<LedgerCommand> batch, bool assumeNewIds)
    {
        if (!SupportsLockFreeReads) return false;
        var assumed = assumeNewIds && InsertFailsOnStoredId;
        foreach (var command in batch)
            if (command.Guard is not null && !KeyAssumedFree(command, assumed)) return false;
        return true;
    }

    /// <returns>The results, or null (nothing written) when <paramref name="assumeNewIds"/> met a result it cannot trust, or
    /// <paramref name="lockFree"/> found an account changed since it was read.</returns>
    private async Task<TransferResult[][]?> ApplyOnceAsync(IReadOnlyList<LedgerCommand> batch, long nowUs, bool assumeNewIds, bool lockFree, CancellationToken ct)
    {
        var requests = new List<Transfer>(batch.Count);
        foreach (var command in batch) requests.AddRange(command.Transfers);

        var transferIds = new HashSet<Guid>();
        var pendingIds = new HashSet<Guid>();
        var accountIds = new HashSet<Guid>();
        foreach (var t in requests)
        {
            if (!assumeNewIds) transferIds.Add(t.Id.Value);
            if (!t.PendingId.IsZero) { pendingIds.Add(t.PendingId.Value); transferIds.Add(t.PendingId.Value); }
            if (!t.DebitAccountId.IsZero) accountIds.Add(t.DebitAccountId.Value);
            if (!t.CreditAccountId.IsZero) accountIds.Add(t.CreditAccountId.Value);
        }

        Phases.AttemptStarted(lockFree);
        var phaseStarted = Stopwatch.GetTimestamp();
        await using var connection = await Db.OpenForLedgerBatchAsync(ct);
        await using var tx = await BeginAsync(connection, ct);
        Phases.Add(LedgerPhase.Open, phaseStarted);
        phaseStarted = Stopwatch.GetTimestamp();

        if (pendingIds.Count > 0)
        {
            // Unlocked read: a transfer's accounts never change, so this only tells us what to lock.
            foreach (var p in await ReadTransfersAsync(connection, tx, [.. pendingIds], ct))
            {
                accountIds.Add(p.DebitAccountId.Value);
                accountIds.Add(p.CreditAccountId.Value);
            }
        }

        // Guards whose checkers lock every row they decide on go first, before the account locks: a payment batch names the same
        // hot accounts as every other (merchant, campaign and points budgets, fee revenue), so whatever runs while it holds them
        // serialises the batches in flight, across processes too (issue 13, session 8: one to three round trips fewer under the
        // locks). Safe across processes: such a guard's row lock, not the account locks, is what keeps a concurrent batch of
        // another process from deciding on the same row (it waits for our commit, then reads what we wrote); guards that rely on
        // the account locks (IGuardChecker.ChecksBeforeAccountLocks false) are still checked after them. Every batch takes guarded
        // rows before account rows, so the two kinds of lock never wait on each other in a cycle; a rare cycle with an effect that
        // updates a guarded row it did not guard (a refund returning a coupon another process's payment is trying) ends in a
        // deadlock error, which IsTransient retries.
        // Under the assumption of new ids a key-free guard (IdempotencyKeyFreeGuard) is not read either, one round trip less per
        // batch: the command's response is then stored with a plain INSERT (see PersistAsync's keysAssumedFree), which fails
        // the batch with a unique violation (transient) if the key is stored already, by this or any other server process, and
        // the batch is decided again with every guard read. A guarded command that stores no response is decided again too.
        var guards = batch.Where(c => c.Guard is not null && !KeyAssumedFree(c, assumeNewIds)).Select(c => c.Guard!).ToArray();
        var guardPassed = guards.Length == 0 || !Parts.AnyIn(guards, GuardPhase.BeforeAccountLocks)
            ? null : await Parts.CheckGuardsAsync(connection, tx, guards, GuardPhase.BeforeAccountLocks, ct);

        var ordered = accountIds.ToArray();
        Array.Sort(ordered);
        // Lock-free under assumed new ids, the accounts this process last wrote may come from its own record of their row versions
        // (PostgresLedgerStore's AccountVersions): any transfer not created then sends the batch back (below), so only a batch
        // that creates everything is decided on them, and PersistAsync writes only the very row versions it was decided on.
        var (accounts, transfers, frozen, rowHandles) = await LockAccountsAndReadTransfersAsync(connection, tx, ordered, [.. transferIds], Parts.NeedsAccountFacts,
            lockRows: !lockFree, ct, rememberedRows: lockFree && assumeNewIds);

        if (guards.Length > 0 && Parts.AnyIn(guards, GuardPhase.AfterAccountLocks))
        {
            var late = await Parts.CheckGuardsAsync(connection, tx, guards, GuardPhase.AfterAccountLocks, ct);
            if (guardPassed is null) guardPassed = late;
            else for (var k = 0; k < late.Length; k++) guardPassed[k] &= late[k];
        }
        guardPassed ??= Enumerable.Repeat(true, guards.Length).ToArray();
        Phases.Add(LedgerPhase.Read, phaseStarted);
        phaseStarted = Stopwatch.GetTimestamp();
        var facts = new AccountFacts(frozen);
        var admitted = new bool[batch.Count];
        requests.Clear();
        for (int i = 0, g = 0; i < batch.Count; i++)
        {
            var command = batch[i];
            // Reset: a retried batch decides again on fresh state.
            command.GuardRejected = command.Guard is not null && !KeyAssumedFree(command, assumeNewIds) && !guardPassed[g++];
            command.Refusal = command.GuardRejected ? null : Refuse(command, facts);
            admitted[i] = !command.GuardRejected && command.Refusal is null;
            if (admitted[i]) requests.AddRange(command.Transfers);
        }

        var set = new LedgerWorkingSet(accounts, transfers);
        var flat = new TransferResult[requests.Count];
        set.Apply(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(requests), flat, nowUs);
        // Assuming new ids is only safe when every transfer is created: a replayed id that is refused now (the balance moved
        // since, a guard or a policy says no) never reaches the INSERT whose unique violation would reveal it, and would answer
        // "rejected" for a transfer that was applied. Such a batch is decided again with its ids read (the rollback undoes
        // nothing written: nothing was).
        if (assumeNewIds && (Array.IndexOf(admitted, false) >= 0 || Array.Exists(flat, r => r != TransferResult.Created))) return null;

        var perCommand = new TransferResult[batch.Count][];
        var responses = new List<StoredResponse>();
        var effects = new List<IEffect>();
        var offset = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var command = batch[i];
            var n = command.Transfers.Count;
            if (!admitted[i])
            {
                perCommand[i] = Enumerable.Repeat(TransferResult.LinkedEventFailed, n).ToArray();
                continue;
            }
            perCommand[i] = flat.AsSpan(offset, n).ToArray();
            offset += n;
            if (command.ResponseToStore is { } respond && respond(perCommand[i]) is { } stored) responses.Add(stored);
            else if (KeyAssumedFree(command, assumeNewIds)) return null;
            if (KeyAssumedFree(command, assumeNewIds) && command.Guard is IdempotencyKeyFreeGuard g && (responses[^1].Scope != g.Scope || responses[^1].Key != g.IdempotencyKey))
                return null;
            if (command.Effects is { } effect && perCommand[i].All(r => r.IsApplied())) effects.AddRange(effect(perCommand[i]));
        }

        var changed = set.ChangedAccounts.ToArray();
        // In id order: a lock-free batch takes its row locks here, in the same order as every locked read.
        Array.Sort(changed, static (a, b) => a.Id.Value.CompareTo(b.Id.Value));
        Phases.Add(LedgerPhase.Decide, phaseStarted);
        phaseStarted = Stopwatch.GetTimestamp();
        // The effects are written by PersistAsync: on PostgreSQL in the postings' round trip where their writers allow.
        if (!await PersistAsync(connection, tx, changed, rowHandles, [.. set.CreatedTransfers], [.. set.ChangedPendingTransfers], responses,
                keysAssumedFree: assumeNewIds, effects, ct))
        {
            Invariant.That(lockFree, "only a lock-free batch can find an account changed since it was read");
            Phases.StaleRead();
            return null;
        }
        Phases.Add(LedgerPhase.Write, phaseStarted);
        phaseStarted = Stopwatch.GetTimestamp();
        await tx.CommitAsync(ct);
        Phases.Add(LedgerPhase.Commit, phaseStarted);
        Committed(rowHandles);
        return perCommand;
    }

    /// <summary>Whether the command's idempotency-key guard is left to the response INSERT (see <see cref="ApplyOnceAsync"/>).</summary>
    private static bool KeyAssumedFree(LedgerCommand command, bool assumeNewIds) => assumeNewIds && command.Guard is IdempotencyKeyFreeGuard;

    private MovementRefusal? Refuse(LedgerCommand command, IAccountFacts facts)
    {
        foreach (var policy in Parts.Policies)
            if (policy.Check(command, facts) is { } refusal) return refusal;
        return null;
    }

    /// <summary>The facts of a batch's locked accounts that policies read.</summary>
    private sealed class AccountFacts(HashSet<Guid> frozen) : IAccountFacts
    {
        public bool IsOwnerFrozen(AccountId account) => frozen.Contains(account.Value);
    }

    /// <summary>Creates an account unless one with the same id exists; compares with the stored one then.</summary>
    public async Task<CreateAccountResult> CreateAccountAsync(Account account, Guid? ownerId, long nowUs, CancellationToken ct)
    {
        var validation = AccountRules.Validate(account);
        if (validation != CreateAccountResult.Created) return validation;
        await using var connection = await Db.OpenAsync(ct);
        var inserted = await InsertAccountAsync(connection, account, ownerId, nowUs, ct);
        if (inserted) return CreateAccountResult.Created;
        // Same connection: taking a second one while holding this one starves the pool under concurrency.
        var existing = await ReadAccountsAsync(connection, null, [account.Id.Value], ct);
        Invariant.That(existing.Count == 1, "an account that conflicted on insert must exist");
        return AccountRules.CompareExisting(account, existing[0]);
    }

    public async Task<IReadOnlyList<Account>> GetAccountsAsync(IReadOnlyCollection<AccountId> ids, CancellationToken ct)
    {
        await using var connection = await Db.OpenAsync(ct);
        return await ReadAccountsAsync(connection, null, [.. ids.Select(i => i.Value)], ct);
    }

    public async Task<TransferRecord?> GetTransferAsync(TransferId id, CancellationToken ct)
    {
        await using var connection = await Db.OpenAsync(ct);
        var found = await ReadTransfersAsync(connection, null, [id.Value], ct);
        return found.Count == 0 ? null : found[0];
    }

    protected abstract ValueTask<DbTransaction> BeginAsync(DbConnection connection, CancellationToken ct);

    protected abstract Task<IReadOnlyList<TransferRecord>> ReadTransfersAsync(DbConnection connection, DbTransaction? tx, Guid[] ids, CancellationToken ct);

    protected abstract Task<IReadOnlyList<Account>> ReadAccountsAsync(DbConnection connection, DbTransaction? tx, Guid[] ids, CancellationToken ct);

    /// <param name="orderedAccountIds">Sorted; locks are taken in this order.</param>
    /// <param name="withFacts">Also read which of the accounts belong to a frozen owner (only when a policy needs it).</param>
    /// <param name="lockRows">Lock the accounts (false only where <see cref="SupportsLockFreeReads"/>: the row handles then let
    /// <see cref="PersistAsync"/> write only the row versions read).</param>
    /// <returns>The locked accounts, the named transfers, the frozen accounts, and the engine's handles of the locked rows (or
    /// null), handed back to <see cref="PersistAsync"/> in the same transaction.</returns>
    /// <param name="rememberedRows">Only with <paramref name="lockRows"/> false: accounts whose row versions this store remembers
    /// from its last commit need not be read (an engine without such a record ignores it).</param>
    protected abstract Task<(IReadOnlyList<Account> Accounts, IReadOnlyList<TransferRecord> Transfers, HashSet<Guid> FrozenAccounts, object? RowHandles)> LockAccountsAndReadTransfersAsync(
        DbConnection connection, DbTransaction tx, Guid[] orderedAccountIds, Guid[] transferIds, bool withFacts, bool lockRows, CancellationToken ct,
        bool rememberedRows = false);

    /// <summary>Called once the batch whose rows <paramref name="rowHandles"/> describes has committed.</summary>
    protected virtual void Committed(object? rowHandles)
    {
    }

    /// <param name="accounts">Sorted by id.</param>
    /// <param name="rowHandles">What <see cref="LockAccountsAndReadTransfersAsync"/> returned for the rows read, same transaction.</param>
    /// <param name="keysAssumedFree">
    /// Store <paramref name="responses"/> with a plain INSERT, so that a key stored already fails the batch (a unique violation,
    /// which <see cref="IsTransient"/> accepts) instead of being skipped: the batch skipped the key-free guards (only where
    /// <see cref="InsertFailsOnStoredId"/>, as with assumed new ids).
    /// </param>
    /// <param name="effects">The admitted commands' effects, written after the postings through <see cref="PipelineParts.WriteEffectsAsync"/>.</param>
    /// <returns>False when an account read without its lock has changed since (the caller rolls back and decides again).</returns>
    protected abstract Task<bool> PersistAsync(DbConnection connection, DbTransaction tx, Account[] accounts, object? rowHandles, TransferRecord[] created,
        TransferRecord[] changedPendings, List<StoredResponse> responses, bool keysAssumedFree, IReadOnlyList<IEffect> effects, CancellationToken ct);

    /// <summary>Inserts the account; false when the id exists already.</summary>
    protected abstract Task<bool> InsertAccountAsync(DbConnection connection, Account account, Guid? ownerId, long nowUs, CancellationToken ct);

    /// <summary>
    /// Whether inserting a transfer whose id is stored already fails the batch with an error <see cref="IsTransient"/> accepts
    /// (a plain INSERT against the primary key), so that <see cref="ApplyBatchAsync"/> may assume new ids.
    /// </summary>
    protected virtual bool InsertFailsOnStoredId => false;

    /// <summary>Whether accounts may be read without their row locks and written back only if unchanged (see ApplyBatchAsync).</summary>
    protected virtual bool SupportsLockFreeReads => false;

    /// <summary>Whether batches may run in concurrent transactions (false where the engine has a single writer).</summary>
    public abstract bool SupportsConcurrentBatches { get; }

    /// <summary>True for database errors after which the whole batch can simply be tried again.</summary>
    public abstract bool IsTransient(Exception exception);

    protected static Account ReadAccount(DbDataReader r, int o = 0) => new(
        new AccountId(r.ReadId(o)), Currency.Parse(r.GetString(o + 1)), checked((ushort)r.GetInt32(o + 2)), (AccountFlags)r.GetInt32(o + 3),
        r.GetInt64(o + 4), r.GetInt64(o + 5), r.GetInt64(o + 6), r.GetInt64(o + 7));

    /// <summary>
    /// Accounts whose owner an operator froze. Read with the account locks; the freeze table is Money's own, written by
    /// <see cref="Freezes"/>.
    /// </summary>
    protected const string FrozenAccountsSql = "SELECT a.id FROM accounts a JOIN owner_freezes f ON f.owner_id = a.owner_id";

    protected const string AccountColumns = "id, currency, code, flags, debits_posted, credits_posted, debits_pending, credits_pending";

    /// <summary>How many columns <see cref="AccountColumns"/> names (the ordinal of a column selected after them).</summary>
    protected const int AccountColumnCount = 8;

    protected const string TransferColumns =
        "id, debit_account_id, credit_account_id, amount, currency, code, flags, pending_id, timeout_seconds, reference, timestamp_us, state";

    protected static TransferRecord ReadTransfer(DbDataReader r) => new(
        new TransferId(r.ReadId(0)), new AccountId(r.ReadId(1)), new AccountId(r.ReadId(2)), r.GetInt64(3),
        Currency.Parse(r.GetString(4)), checked((ushort)r.GetInt32(5)), (TransferFlags)r.GetInt32(6),
        new TransferId(r.ReadNullableId(7) ?? Guid.Empty), checked((uint)r.GetInt64(8)), r.IsDBNull(9) ? null : r.GetString(9),
        r.GetInt64(10), (PendingState)r.GetInt32(11));
}
