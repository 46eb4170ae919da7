namespace Qianbao.Ledger;

/// <summary>
/// The pure decision functions of the ledger: given account states and a request, the outcome and
/// the new account states. No state of their own; <see cref="LedgerWorkingSet"/> applies what they decide.
/// </summary>
public static class TransferRules
{
    /// <summary>The accounts after a decision, valid only when <see cref="Result"/> is <see cref="TransferResult.Created"/>.</summary>
    public readonly record struct Decision(TransferResult Result, Account Debit, Account Credit)
    {
        public static Decision Fail(TransferResult result) => new(result, default, default);
    }

    /// <summary>Checks what can be checked without any stored state.</summary>
    public static TransferResult ValidateShape(Transfer t)
    {
        if (t.Id.IsZero) return TransferResult.IdMustNotBeZero;
        var post = t.Has(TransferFlags.PostPending);
        var @void = t.Has(TransferFlags.VoidPending);
        var pending = t.Has(TransferFlags.Pending);
        if ((pending ? 1 : 0) + (post ? 1 : 0) + (@void ? 1 : 0) > 1) return TransferResult.FlagsAreMutuallyExclusive;
        if (t.Code == 0) return TransferResult.CodeMustNotBeZero;
        if (t.Reference is { Length: > Transfer.ReferenceLengthMax }) return TransferResult.ReferenceTooLong;

        if (post || @void)
        {
            if (t.PendingId.IsZero) return TransferResult.PendingIdMustNotBeZero;
            if (t.PendingId == t.Id) return TransferResult.PendingIdMustBeDifferent;
            if (t.TimeoutSeconds != 0) return TransferResult.TimeoutReservedForPendingTransfer;
            if (t.Amount < 0) return TransferResult.AmountMustBePositive;
            return TransferResult.Created;
        }

        if (t.DebitAccountId.IsZero) return TransferResult.DebitAccountIdMustNotBeZero;
        if (t.CreditAccountId.IsZero) return TransferResult.CreditAccountIdMustNotBeZero;
        if (t.DebitAccountId == t.CreditAccountId) return TransferResult.AccountsMustBeDifferent;
        if (!t.PendingId.IsZero) return TransferResult.PendingIdMustBeZero;
        if (!pending && t.TimeoutSeconds != 0) return TransferResult.TimeoutReservedForPendingTransfer;
        if (t.TimeoutSeconds > Transfer.TimeoutSecondsMax) return TransferResult.TimeoutTooLong;
        if (t.Amount <= 0) return TransferResult.AmountMustBePositive;
        return TransferResult.Created;
    }

    /// <summary>
    /// A request whose id is already recorded: <see cref="TransferResult.Exists"/> when it asks for the same
    /// thing, else the first field that differs. Zero account ids and a zero amount on a post or void
    /// mean "as the pending transfer", so they match the resolved values.
    /// </summary>
    public static TransferResult CompareExisting(Transfer t, TransferRecord e)
    {
        if (t.Flags != e.Flags) return TransferResult.ExistsWithDifferentFlags;
        var resolvesFromPending = t.Has(TransferFlags.PostPending) || t.Has(TransferFlags.VoidPending);
        if (t.PendingId != e.PendingId) return TransferResult.ExistsWithDifferentPendingId;
        if (!(resolvesFromPending && t.DebitAccountId.IsZero) && t.DebitAccountId != e.DebitAccountId)
            return TransferResult.ExistsWithDifferentDebitAccountId;
        if (!(resolvesFromPending && t.CreditAccountId.IsZero) && t.CreditAccountId != e.CreditAccountId)
            return TransferResult.ExistsWithDifferentCreditAccountId;
        if (!(resolvesFromPending && t.Amount == 0) && t.Amount != e.Amount) return TransferResult.ExistsWithDifferentAmount;
        if (t.Currency != e.Currency) return TransferResult.ExistsWithDifferentCurrency;
        if (t.TimeoutSeconds != e.TimeoutSeconds) return TransferResult.ExistsWithDifferentTimeout;
        if (t.Code != e.Code) return TransferResult.ExistsWithDifferentCode;
        if (!string.Equals(t.Reference ?? "", e.Reference ?? "", StringComparison.Ordinal)) return TransferResult.ExistsWithDifferentReference;
        return TransferResult.Exists;
    }

    /// <summary>A plain (posted) or pending transfer of <paramref name="amount"/> (≥ 1) from dr to cr.</summary>
    public static Decision DecideNew(in Account dr, in Account cr, long amount, bool pending)
    {
        Invariant.That(amount > 0, "amount validated positive before deciding");
        if (pending)
        {
            if (!TryAdd(dr.DebitsPending, amount, out var drPending)) return Decision.Fail(TransferResult.OverflowsDebitsPending);
            if (!TryAdd(cr.CreditsPending, amount, out var crPending)) return Decision.Fail(TransferResult.OverflowsCreditsPending);
            if (!TryAdd(drPending, dr.DebitsPosted, out _)) return Decision.Fail(TransferResult.OverflowsDebits);
            if (!TryAdd(crPending, cr.CreditsPosted, out _)) return Decision.Fail(TransferResult.OverflowsCredits);
            var debit = dr with { DebitsPending = drPending };
            var credit = cr with { CreditsPending = crPending };
            return CheckLimits(debit, credit);
        }
        else
        {
            if (!TryAdd(dr.DebitsPosted, amount, out var drPosted)) return Decision.Fail(TransferResult.OverflowsDebitsPosted);
            if (!TryAdd(cr.CreditsPosted, amount, out var crPosted)) return Decision.Fail(TransferResult.OverflowsCreditsPosted);
            if (!TryAdd(drPosted, dr.DebitsPending, out _)) return Decision.Fail(TransferResult.OverflowsDebits);
            if (!TryAdd(crPosted, cr.CreditsPending, out _)) return Decision.Fail(TransferResult.OverflowsCredits);
            var debit = dr with { DebitsPosted = drPosted };
            var credit = cr with { CreditsPosted = crPosted };
            return CheckLimits(debit, credit);
        }
    }

    /// <summary>Posts <paramref name="postAmount"/> (1..pendingAmount) of a hold of <paramref name="pendingAmount"/>; the rest is released.</summary>
    public static Decision DecidePost(in Account dr, in Account cr, long pendingAmount, long postAmount)
    {
        Invariant.That(postAmount > 0 && postAmount <= pendingAmount, "post amount within the pending amount");
        Invariant.That(dr.DebitsPending >= pendingAmount && cr.CreditsPending >= pendingAmount, "a live hold is counted in pending balances");
        if (!TryAdd(dr.DebitsPosted, postAmount, out var drPosted)) return Decision.Fail(TransferResult.OverflowsDebitsPosted);
        if (!TryAdd(cr.CreditsPosted, postAmount, out var crPosted)) return Decision.Fail(TransferResult.OverflowsCreditsPosted);
        var debit = dr with { DebitsPosted = drPosted, DebitsPending = dr.DebitsPending - pendingAmount };
        var credit = cr with { CreditsPosted = crPosted, CreditsPending = cr.CreditsPending - pendingAmount };
        // Moving a reserved amount from pending to posted can only loosen the limits; checked anyway.
        return CheckLimits(debit, credit);
    }

    /// <summary>Releases a hold of <paramref name="pendingAmount"/> (void or expiry).</summary>
    public static Decision ReleasePending(in Account dr, in Account cr, long pendingAmount)
    {
        Invariant.That(dr.DebitsPending >= pendingAmount && cr.CreditsPending >= pendingAmount, "a live hold is counted in pending balances");
        var debit = dr with { DebitsPending = dr.DebitsPending - pendingAmount };
        var credit = cr with { CreditsPending = cr.CreditsPending - pendingAmount };
        return new Decision(TransferResult.Created, debit, credit);
    }

    private static Decision CheckLimits(in Account debit, in Account credit)
    {
        if (debit.Has(AccountFlags.DebitsMustNotExceedCredits) && debit.DebitsPosted + debit.DebitsPending > debit.CreditsPosted)
            return Decision.Fail(TransferResult.ExceedsCredits);
        if (credit.Has(AccountFlags.CreditsMustNotExceedDebits) && credit.CreditsPosted + credit.CreditsPending > credit.DebitsPosted)
            return Decision.Fail(TransferResult.ExceedsDebits);
        return new Decision(TransferResult.Created, debit, credit);
    }

    private static bool TryAdd(long a, long b, out long sum)
    {
        sum = unchecked(a + b);
        // Both operands are non-negative balances or amounts, so overflow shows as a negative sum.
        return sum >= 0;
    }
}
