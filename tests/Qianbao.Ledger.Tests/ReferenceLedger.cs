namespace Qianbao.Ledger.Tests;

/// <summary>
/// A deliberately naive, independent model of the ledger, written from the specification (TigerBeetle
/// semantics as described in DESIGN.md and the brief) rather than from <c>LedgerWorkingSet</c> or
/// <c>TransferRules</c>: plain dictionaries of immutable records, one transfer at a time, arithmetic in
/// <see cref="Int128"/> so overflow is a comparison rather than a wrap, and a linked chain applied to
/// a copy of the whole state that is kept only if every event of the chain succeeded.
/// It shares nothing with the engine but the public data types and enums.
/// </summary>
internal sealed class ReferenceLedger
{
    private static readonly Int128 Max = long.MaxValue;

    /// <summary>An account's balances. Immutable; replaced on every change.</summary>
    public sealed record Balances(AccountId Id, string Currency, AccountFlags Flags, long DebitsPosted, long CreditsPosted, long DebitsPending, long CreditsPending);

    /// <summary>A recorded transfer. Immutable; a pending one is replaced when its state changes.</summary>
    public sealed record Recorded(
        TransferId Id, AccountId Debit, AccountId Credit, long Amount, string Currency, ushort Code, TransferFlags Flags,
        TransferId PendingId, uint TimeoutSeconds, string? Reference, long TimestampUs, PendingState State);

    private sealed record State(Dictionary<AccountId, Balances> Accounts, Dictionary<TransferId, Recorded> Transfers, List<TransferId> Order)
    {
        public State Copy() => new(new(Accounts), new(Transfers), [.. Order]);
    }

    private State state = new([], [], []);

    public IReadOnlyDictionary<AccountId, Balances> Accounts => state.Accounts;

    public IReadOnlyDictionary<TransferId, Recorded> Transfers => state.Transfers;

    /// <summary>Transfer ids in the order they were recorded.</summary>
    public IReadOnlyList<TransferId> Order => state.Order;

    public void AddAccount(AccountId id, Currency currency, AccountFlags flags) =>
        state.Accounts.Add(id, new Balances(id, currency.Code, flags, 0, 0, 0, 0));

    /// <summary>Applies one batch committed at <paramref name="nowUs"/>.</summary>
    public TransferResult[] Apply(IReadOnlyList<Transfer> batch, long nowUs)
    {
        var results = new TransferResult[batch.Count];
        var i = 0;
        while (i < batch.Count)
        {
            if (!IsLinked(batch[i]))
            {
                results[i] = ApplyOne(state, batch[i], nowUs);
                i++;
                continue;
            }

            // A chain runs from here to the first event without Linked, or to the end of the batch (open).
            var last = i;
            while (last < batch.Count - 1 && IsLinked(batch[last])) last++;
            var open = IsLinked(batch[last]);

            var trial = state.Copy();
            var failedAt = -1;
            var failure = TransferResult.Created;
            for (var k = i; k <= last; k++)
            {
                var result = open && k == last ? TransferResult.LinkedEventChainOpen : ApplyOne(trial, batch[k], nowUs);
                if (result is not (TransferResult.Created or TransferResult.Exists))
                {
                    failedAt = k;
                    failure = result;
                    break;
                }
                results[k] = result;
            }

            if (failedAt < 0)
            {
                state = trial;
            }
            else
            {
                for (var k = i; k <= last; k++) results[k] = k == failedAt ? failure : TransferResult.LinkedEventFailed;
            }
            i = last + 1;
        }
        return results;
    }

    private static bool IsLinked(Transfer t) => (t.Flags & TransferFlags.Linked) != 0;

    private static TransferResult ApplyOne(State s, Transfer t, long nowUs)
    {
        var isPending = (t.Flags & TransferFlags.Pending) != 0;
        var isPost = (t.Flags & TransferFlags.PostPending) != 0;
        var isVoid = (t.Flags & TransferFlags.VoidPending) != 0;

        // 1. The request on its own.
        if (t.Id == default) return TransferResult.IdMustNotBeZero;
        if ((isPending ? 1 : 0) + (isPost ? 1 : 0) + (isVoid ? 1 : 0) >= 2) return TransferResult.FlagsAreMutuallyExclusive;
        if (t.Code == 0) return TransferResult.CodeMustNotBeZero;
        if (t.Reference != null && t.Reference.Length > 256) return TransferResult.ReferenceTooLong;
        if (isPost || isVoid)
        {
            if (t.PendingId == default) return TransferResult.PendingIdMustNotBeZero;
            if (t.PendingId == t.Id) return TransferResult.PendingIdMustBeDifferent;
            if (t.TimeoutSeconds > 0) return TransferResult.TimeoutReservedForPendingTransfer;
            if (t.Amount < 0) return TransferResult.AmountMustBePositive;
        }
        else
        {
            if (t.DebitAccountId == default) return TransferResult.DebitAccountIdMustNotBeZero;
            if (t.CreditAccountId == default) return TransferResult.CreditAccountIdMustNotBeZero;
            if (t.DebitAccountId == t.CreditAccountId) return TransferResult.AccountsMustBeDifferent;
            if (t.PendingId != default) return TransferResult.PendingIdMustBeZero;
            if (!isPending && t.TimeoutSeconds > 0) return TransferResult.TimeoutReservedForPendingTransfer;
            if (t.TimeoutSeconds > 30u * 24 * 60 * 60) return TransferResult.TimeoutTooLong;
            if (t.Amount < 1) return TransferResult.AmountMustBePositive;
        }

        // 2. An id seen before: the same request again, or a different one under a reused id.
        if (s.Transfers.TryGetValue(t.Id, out var seen)) return CompareWithSeen(t, seen, isPost || isVoid);

        return isPost || isVoid ? PostOrVoid(s, t, isPost, nowUs) : New(s, t, isPending, nowUs);
    }

    private static TransferResult CompareWithSeen(Transfer t, Recorded seen, bool postOrVoid)
    {
        if (t.Flags != seen.Flags) return TransferResult.ExistsWithDifferentFlags;
        if (t.PendingId != seen.PendingId) return TransferResult.ExistsWithDifferentPendingId;
        // A post or void may leave accounts and amount zero: "as the pending transfer".
        if (t.DebitAccountId != seen.Debit && !(postOrVoid && t.DebitAccountId == default)) return TransferResult.ExistsWithDifferentDebitAccountId;
        if (t.CreditAccountId != seen.Credit && !(postOrVoid && t.CreditAccountId == default)) return TransferResult.ExistsWithDifferentCreditAccountId;
        if (t.Amount != seen.Amount && !(postOrVoid && t.Amount == 0)) return TransferResult.ExistsWithDifferentAmount;
        if (t.Currency.Code != seen.Currency) return TransferResult.ExistsWithDifferentCurrency;
        if (t.TimeoutSeconds != seen.TimeoutSeconds) return TransferResult.ExistsWithDifferentTimeout;
        if (t.Code != seen.Code) return TransferResult.ExistsWithDifferentCode;
        if ((t.Reference ?? "") != (seen.Reference ?? "")) return TransferResult.ExistsWithDifferentReference;
        return TransferResult.Exists;
    }

    private static TransferResult New(State s, Transfer t, bool isPending, long nowUs)
    {
        if (!s.Accounts.TryGetValue(t.DebitAccountId, out var dr)) return TransferResult.DebitAccountNotFound;
        if (!s.Accounts.TryGetValue(t.CreditAccountId, out var cr)) return TransferResult.CreditAccountNotFound;
        if (dr.Currency != cr.Currency) return TransferResult.AccountsMustHaveTheSameCurrency;
        if (t.Currency.Code != dr.Currency) return TransferResult.TransferCurrencyMismatch;
        if ((dr.Flags & AccountFlags.Closed) != 0) return TransferResult.DebitAccountClosed;
        if ((cr.Flags & AccountFlags.Closed) != 0) return TransferResult.CreditAccountClosed;

        Int128 amount = t.Amount;
        Int128 drPosted = dr.DebitsPosted, drPending = dr.DebitsPending, crPosted = cr.CreditsPosted, crPending = cr.CreditsPending;
        if (isPending)
        {
            drPending += amount;
            crPending += amount;
            if (drPending > Max) return TransferResult.OverflowsDebitsPending;
            if (crPending > Max) return TransferResult.OverflowsCreditsPending;
        }
        else
        {
            drPosted += amount;
            crPosted += amount;
            if (drPosted > Max) return TransferResult.OverflowsDebitsPosted;
            if (crPosted > Max) return TransferResult.OverflowsCreditsPosted;
        }
        if (drPosted + drPending > Max) return TransferResult.OverflowsDebits;
        if (crPosted + crPending > Max) return TransferResult.OverflowsCredits;
        if ((dr.Flags & AccountFlags.DebitsMustNotExceedCredits) != 0 && drPosted + drPending > dr.CreditsPosted) return TransferResult.ExceedsCredits;
        if ((cr.Flags & AccountFlags.CreditsMustNotExceedDebits) != 0 && crPosted + crPending > cr.DebitsPosted) return TransferResult.ExceedsDebits;

        s.Accounts[dr.Id] = dr with { DebitsPosted = (long)drPosted, DebitsPending = (long)drPending };
        s.Accounts[cr.Id] = cr with { CreditsPosted = (long)crPosted, CreditsPending = (long)crPending };
        Record(s, new Recorded(t.Id, t.DebitAccountId, t.CreditAccountId, t.Amount, t.Currency.Code, t.Code, t.Flags, default,
            t.TimeoutSeconds, t.Reference, nowUs, isPending ? PendingState.Pending : PendingState.None));
        return TransferResult.Created;
    }

    private static TransferResult PostOrVoid(State s, Transfer t, bool isPost, long nowUs)
    {
        if (!s.Transfers.TryGetValue(t.PendingId, out var p)) return TransferResult.PendingTransferNotFound;
        if ((p.Flags & TransferFlags.Pending) == 0) return TransferResult.PendingTransferNotPending;
        if (t.DebitAccountId != default && t.DebitAccountId != p.Debit) return TransferResult.PendingTransferHasDifferentDebitAccountId;
        if (t.CreditAccountId != default && t.CreditAccountId != p.Credit) return TransferResult.PendingTransferHasDifferentCreditAccountId;
        if (t.Currency.Code != p.Currency) return TransferResult.PendingTransferHasDifferentCurrency;
        var amount = t.Amount == 0 ? p.Amount : t.Amount;
        if (isPost && amount > p.Amount) return TransferResult.ExceedsPendingTransferAmount;
        if (!isPost && amount != p.Amount) return TransferResult.PendingTransferHasDifferentAmount;
        if (p.State == PendingState.Posted) return TransferResult.PendingTransferAlreadyPosted;
        if (p.State == PendingState.Voided) return TransferResult.PendingTransferAlreadyVoided;
        if (p.State == PendingState.Expired) return TransferResult.PendingTransferExpired;
        if (p.State != PendingState.Pending) throw new InvalidOperationException($"reference model: pending {p.Id} in state {p.State}");

        var dr = s.Accounts[p.Debit];
        var cr = s.Accounts[p.Credit];
        // The hold is released in every remaining outcome: expiry, void, or post (which then posts its amount).
        var drReleased = dr with { DebitsPending = dr.DebitsPending - p.Amount };
        var crReleased = cr with { CreditsPending = cr.CreditsPending - p.Amount };

        var expired = p.TimeoutSeconds > 0 && nowUs >= p.TimestampUs + (long)p.TimeoutSeconds * 1_000_000;
        if (expired)
        {
            s.Accounts[dr.Id] = drReleased;
            s.Accounts[cr.Id] = crReleased;
            s.Transfers[p.Id] = p with { State = PendingState.Expired };
            return TransferResult.PendingTransferExpired;
        }

        s.Accounts[dr.Id] = isPost ? drReleased with { DebitsPosted = checked(dr.DebitsPosted + amount) } : drReleased;
        s.Accounts[cr.Id] = isPost ? crReleased with { CreditsPosted = checked(cr.CreditsPosted + amount) } : crReleased;
        s.Transfers[p.Id] = p with { State = isPost ? PendingState.Posted : PendingState.Voided };
        Record(s, new Recorded(t.Id, p.Debit, p.Credit, amount, p.Currency, t.Code, t.Flags, p.Id, 0, t.Reference, nowUs, PendingState.None));
        return TransferResult.Created;
    }

    private static void Record(State s, Recorded r)
    {
        s.Transfers.Add(r.Id, r);
        s.Order.Add(r.Id);
    }
}
