namespace Qianbao.Ledger;

/// <summary>
/// A ledger account and its four balances, all in minor units of <see cref="Currency"/>.
/// Invariants: every balance is in 0..<see cref="long.MaxValue"/>; with
/// <see cref="AccountFlags.DebitsMustNotExceedCredits"/>, <c>DebitsPosted + DebitsPending ≤ CreditsPosted</c>;
/// with <see cref="AccountFlags.CreditsMustNotExceedDebits"/>, <c>CreditsPosted + CreditsPending ≤ DebitsPosted</c>.
/// Balances change only by applying transfers; an account is never deleted.
/// </summary>
public readonly record struct Account(
    AccountId Id,
    Currency Currency,
    ushort Code,
    AccountFlags Flags,
    long DebitsPosted = 0,
    long CreditsPosted = 0,
    long DebitsPending = 0,
    long CreditsPending = 0)
{
    /// <summary>What a credit-normal account can spend now: posted credits less posted and pending debits.</summary>
    public long CreditBalanceAvailable => CreditsPosted - DebitsPosted - DebitsPending;

    /// <summary>A debit-normal account's balance (e.g. money held at a channel): posted debits less posted credits.</summary>
    public long DebitBalancePosted => DebitsPosted - CreditsPosted;

    public bool Has(AccountFlags flag) => (Flags & flag) == flag;

    /// <summary>True when the balances satisfy the flags; checked after every change.</summary>
    public bool BalancesAreValid =>
        DebitsPosted >= 0 && CreditsPosted >= 0 && DebitsPending >= 0 && CreditsPending >= 0
        && (!Has(AccountFlags.DebitsMustNotExceedCredits) || DebitsPosted + DebitsPending <= CreditsPosted)
        && (!Has(AccountFlags.CreditsMustNotExceedDebits) || CreditsPosted + CreditsPending <= DebitsPosted);
}

/// <summary>Outcome of creating an account. Exhaustive; only <see cref="Created"/> and <see cref="Exists"/> are successes.</summary>
public enum CreateAccountResult : byte
{
    Created = 0,
    Exists,
    ExistsWithDifferentCurrency,
    ExistsWithDifferentCode,
    ExistsWithDifferentFlags,
    IdMustNotBeZero,
    CodeMustNotBeZero,
    FlagsAreMutuallyExclusive,
    BalancesMustBeZero,
}

/// <summary>Pure validation and comparison for account creation.</summary>
public static class AccountRules
{
    /// <summary>Validates a new account before it is stored.</summary>
    public static CreateAccountResult Validate(in Account account)
    {
        if (account.Id.IsZero) return CreateAccountResult.IdMustNotBeZero;
        if (account.Code == 0) return CreateAccountResult.CodeMustNotBeZero;
        if (account.Has(AccountFlags.DebitsMustNotExceedCredits) && account.Has(AccountFlags.CreditsMustNotExceedDebits))
            return CreateAccountResult.FlagsAreMutuallyExclusive;
        if (account.DebitsPosted != 0 || account.CreditsPosted != 0 || account.DebitsPending != 0 || account.CreditsPending != 0)
            return CreateAccountResult.BalancesMustBeZero;
        return CreateAccountResult.Created;
    }

    /// <summary>Compares a requested account with the one already stored under the same id.</summary>
    public static CreateAccountResult CompareExisting(in Account requested, in Account existing)
    {
        if (requested.Currency != existing.Currency) return CreateAccountResult.ExistsWithDifferentCurrency;
        if (requested.Code != existing.Code) return CreateAccountResult.ExistsWithDifferentCode;
        if ((requested.Flags & ~AccountFlags.Closed) != (existing.Flags & ~AccountFlags.Closed)) return CreateAccountResult.ExistsWithDifferentFlags;
        return CreateAccountResult.Exists;
    }
}
