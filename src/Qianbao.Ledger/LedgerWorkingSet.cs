namespace Qianbao.Ledger;

/// <summary>
/// The pure double-entry engine over the slice of the ledger one batch touches. A store loads the
/// accounts and transfers a batch refers to, calls <see cref="Apply"/>, then writes back exactly
/// <see cref="ChangedAccounts"/>, <see cref="CreatedTransfers"/> and <see cref="ChangedPendingTransfers"/>,
/// so each account row is read and written once per batch however many transfers touch it.
/// Requests are applied in order; each gets its own result; a linked chain succeeds or fails whole.
/// </summary>
public sealed class LedgerWorkingSet
{
    private readonly Dictionary<AccountId, Account> accounts;
    private readonly Dictionary<TransferId, TransferRecord> transfers;
    private readonly HashSet<AccountId> changedAccounts = [];
    private readonly List<TransferId> createdTransfers = [];
    private readonly HashSet<TransferId> createdTransferSet = [];
    private readonly HashSet<TransferId> changedPendings = [];
    private readonly List<UndoEntry> undo = [];

    /// <param name="accounts">Every account the batch may touch, as stored now (locked by the caller).</param>
    /// <param name="transfers">Every stored transfer whose id is a request id or a pending id of the batch.</param>
    public LedgerWorkingSet(IEnumerable<Account> accounts, IEnumerable<TransferRecord> transfers)
    {
        this.accounts = accounts.ToDictionary(a => a.Id);
        this.transfers = transfers.ToDictionary(t => t.Id);
    }

    /// <summary>Accounts whose balances changed since construction or the last <see cref="AcceptChanges"/>.</summary>
    public IEnumerable<Account> ChangedAccounts => changedAccounts.Select(id => accounts[id]);

    /// <summary>Transfers created, in application order, with their final state.</summary>
    public IEnumerable<TransferRecord> CreatedTransfers => createdTransfers.Select(id => transfers[id]);

    /// <summary>Previously stored pending transfers whose <see cref="TransferRecord.State"/> changed.</summary>
    public IEnumerable<TransferRecord> ChangedPendingTransfers => changedPendings.Select(id => transfers[id]);

    public bool TryGetAccount(AccountId id, out Account account) => accounts.TryGetValue(id, out account);

    public bool TryGetTransfer(TransferId id, out TransferRecord? transfer) => transfers.TryGetValue(id, out transfer);

    /// <summary>Adds an account (an in-memory ledger creating one); the caller has validated it.</summary>
    public CreateAccountResult AddAccount(in Account account)
    {
        var validation = AccountRules.Validate(account);
        if (validation != CreateAccountResult.Created) return validation;
        if (accounts.TryGetValue(account.Id, out var existing)) return AccountRules.CompareExisting(account, existing);
        accounts.Add(account.Id, account);
        return CreateAccountResult.Created;
    }

    /// <summary>Forgets change tracking after the caller has persisted the changes.</summary>
    public void AcceptChanges()
    {
        changedAccounts.Clear();
        createdTransfers.Clear();
        createdTransferSet.Clear();
        changedPendings.Clear();
    }

    /// <summary>
    /// Applies <paramref name="requests"/> in order at time <paramref name="nowUs"/> (Unix microseconds),
    /// writing one result per request into <paramref name="results"/>.
    /// </summary>
    public void Apply(ReadOnlySpan<Transfer> requests, Span<TransferResult> results, long nowUs)
    {
        Invariant.That(results.Length >= requests.Length, "results span shorter than requests");
        var chainStart = -1;
        var chainFailed = false;
        for (var i = 0; i < requests.Length; i++)
        {
            var request = requests[i];
            var linked = request.Has(TransferFlags.Linked);
            if (chainStart < 0 && linked)
            {
                chainStart = i;
                chainFailed = false;
                undo.Clear();
            }

            TransferResult result;
            if (chainStart >= 0 && chainFailed)
            {
                result = TransferResult.LinkedEventFailed;
            }
            else if (linked && i == requests.Length - 1)
            {
                result = TransferResult.LinkedEventChainOpen;
            }
            else
            {
                result = ApplyOne(request, nowUs, recordUndo: chainStart >= 0);
            }
            results[i] = result;

            if (chainStart >= 0 && !chainFailed && !result.IsApplied())
            {
                // The chain fails whole: undo what its earlier events did and mark them failed.
                chainFailed = true;
                Rollback();
                for (var j = chainStart; j < i; j++) results[j] = TransferResult.LinkedEventFailed;
            }
            if (chainStart >= 0 && !linked)
            {
                chainStart = -1;
                undo.Clear();
            }
        }
    }

    private TransferResult ApplyOne(Transfer t, long nowUs, bool recordUndo)
    {
        var shape = TransferRules.ValidateShape(t);
        if (shape != TransferResult.Created) return shape;

        if (transfers.TryGetValue(t.Id, out var existing)) return TransferRules.CompareExisting(t, existing);

        return t.Has(TransferFlags.PostPending) || t.Has(TransferFlags.VoidPending)
            ? ApplyPostOrVoid(t, nowUs, recordUndo)
            : ApplyNew(t, nowUs, recordUndo);
    }

    private TransferResult ApplyNew(Transfer t, long nowUs, bool recordUndo)
    {
        if (!accounts.TryGetValue(t.DebitAccountId, out var dr)) return TransferResult.DebitAccountNotFound;
        if (!accounts.TryGetValue(t.CreditAccountId, out var cr)) return TransferResult.CreditAccountNotFound;
        if (dr.Currency != cr.Currency) return TransferResult.AccountsMustHaveTheSameCurrency;
        if (t.Currency != dr.Currency) return TransferResult.TransferCurrencyMismatch;
        if (dr.Has(AccountFlags.Closed)) return TransferResult.DebitAccountClosed;
        if (cr.Has(AccountFlags.Closed)) return TransferResult.CreditAccountClosed;

        var pending = t.Has(TransferFlags.Pending);
        var decision = TransferRules.DecideNew(dr, cr, t.Amount, pending);
        if (decision.Result != TransferResult.Created) return decision.Result;

        SetAccount(decision.Debit, recordUndo);
        SetAccount(decision.Credit, recordUndo);
        AddTransfer(new TransferRecord(t.Id, t.DebitAccountId, t.CreditAccountId, t.Amount, t.Currency, t.Code,
            t.Flags, default, t.TimeoutSeconds, t.Reference, nowUs, pending ? PendingState.Pending : PendingState.None), recordUndo);
        return TransferResult.Created;
    }

    private TransferResult ApplyPostOrVoid(Transfer t, long nowUs, bool recordUndo)
    {
        if (!transfers.TryGetValue(t.PendingId, out var p) || p is null) return TransferResult.PendingTransferNotFound;
        if (!p.Has(TransferFlags.Pending)) return TransferResult.PendingTransferNotPending;
        if (!t.DebitAccountId.IsZero && t.DebitAccountId != p.DebitAccountId) return TransferResult.PendingTransferHasDifferentDebitAccountId;
        if (!t.CreditAccountId.IsZero && t.CreditAccountId != p.CreditAccountId) return TransferResult.PendingTransferHasDifferentCreditAccountId;
        if (t.Currency != p.Currency) return TransferResult.PendingTransferHasDifferentCurrency;

        var post = t.Has(TransferFlags.PostPending);
        var amount = t.Amount == 0 ? p.Amount : t.Amount;
        if (post && amount > p.Amount) return TransferResult.ExceedsPendingTransferAmount;
        if (!post && amount != p.Amount) return TransferResult.PendingTransferHasDifferentAmount;

        switch (p.State)
        {
            case PendingState.Posted: return TransferResult.PendingTransferAlreadyPosted;
            case PendingState.Voided: return TransferResult.PendingTransferAlreadyVoided;
            case PendingState.Expired: return TransferResult.PendingTransferExpired;
            case PendingState.Pending: break;
            default: throw new InvariantViolationException($"pending transfer {p.Id} has state {p.State}");
        }

        Invariant.That(accounts.TryGetValue(p.DebitAccountId, out var dr), "a pending transfer's debit account must be loaded");
        Invariant.That(accounts.TryGetValue(p.CreditAccountId, out var cr), "a pending transfer's credit account must be loaded");

        if (p.ExpiresAtUs != 0 && nowUs >= p.ExpiresAtUs)
        {
            // The hold lapsed: release it now. This change stands even though the request fails.
            var expired = TransferRules.ReleasePending(dr, cr, p.Amount);
            SetAccount(expired.Debit, recordUndo);
            SetAccount(expired.Credit, recordUndo);
            SetPendingState(p, PendingState.Expired, recordUndo);
            return TransferResult.PendingTransferExpired;
        }

        var decision = post ? TransferRules.DecidePost(dr, cr, p.Amount, amount) : TransferRules.ReleasePending(dr, cr, p.Amount);
        if (decision.Result != TransferResult.Created) return decision.Result;

        SetAccount(decision.Debit, recordUndo);
        SetAccount(decision.Credit, recordUndo);
        SetPendingState(p, post ? PendingState.Posted : PendingState.Voided, recordUndo);
        AddTransfer(new TransferRecord(t.Id, p.DebitAccountId, p.CreditAccountId, amount, p.Currency, t.Code,
            t.Flags, p.Id, 0, t.Reference, nowUs, PendingState.None), recordUndo);
        return TransferResult.Created;
    }

    private void SetAccount(in Account updated, bool recordUndo)
    {
        Invariant.That(updated.BalancesAreValid, $"account {updated.Id} would break its balance invariant");
        var previous = accounts[updated.Id];
        if (recordUndo) undo.Add(UndoEntry.ForAccount(previous, changedAccounts.Contains(updated.Id)));
        accounts[updated.Id] = updated;
        changedAccounts.Add(updated.Id);
    }

    private void SetPendingState(TransferRecord pending, PendingState state, bool recordUndo)
    {
        if (recordUndo) undo.Add(UndoEntry.ForPending(pending, changedPendings.Contains(pending.Id)));
        transfers[pending.Id] = pending with { State = state };
        if (!createdTransferSet.Contains(pending.Id)) changedPendings.Add(pending.Id);
    }

    private void AddTransfer(TransferRecord record, bool recordUndo)
    {
        if (recordUndo) undo.Add(UndoEntry.ForCreated(record.Id));
        transfers.Add(record.Id, record);
        createdTransfers.Add(record.Id);
        createdTransferSet.Add(record.Id);
    }

    private void Rollback()
    {
        for (var i = undo.Count - 1; i >= 0; i--)
        {
            var entry = undo[i];
            switch (entry.Kind)
            {
                case UndoKind.Account:
                    accounts[entry.Account.Id] = entry.Account;
                    if (!entry.WasChanged) changedAccounts.Remove(entry.Account.Id);
                    break;
                case UndoKind.Pending:
                    transfers[entry.Pending!.Id] = entry.Pending;
                    if (!entry.WasChanged) changedPendings.Remove(entry.Pending.Id);
                    break;
                case UndoKind.Created:
                    transfers.Remove(entry.TransferId);
                    createdTransferSet.Remove(entry.TransferId);
                    Invariant.That(createdTransfers[^1] == entry.TransferId, "undo must remove creations in reverse order");
                    createdTransfers.RemoveAt(createdTransfers.Count - 1);
                    break;
                default:
                    throw new InvariantViolationException($"unknown undo kind {entry.Kind}");
            }
        }
        undo.Clear();
    }

    private enum UndoKind : byte { Account, Pending, Created }

    private readonly record struct UndoEntry(UndoKind Kind, Account Account, TransferRecord? Pending, TransferId TransferId, bool WasChanged)
    {
        public static UndoEntry ForAccount(Account previous, bool wasChanged) => new(UndoKind.Account, previous, null, default, wasChanged);
        public static UndoEntry ForPending(TransferRecord previous, bool wasChanged) => new(UndoKind.Pending, default, previous, default, wasChanged);
        public static UndoEntry ForCreated(TransferId id) => new(UndoKind.Created, default, null, id, false);
    }
}
