namespace Qianbao.Ledger;

/// <summary>
/// The outcome of one transfer request. Exhaustive: every expected outcome is a value here; anything
/// else is a bug and throws. Only <see cref="Created"/> changes balances; <see cref="Exists"/> means the
/// same transfer was applied before (an idempotent replay). Values are stable (logged and mapped to codes).
/// </summary>
public enum TransferResult : byte
{
    Created = 0,
    /// <summary>A transfer in the same linked chain failed, so this one was not applied.</summary>
    LinkedEventFailed = 1,
    /// <summary>The batch ended while a chain was still open (the last event carried <see cref="TransferFlags.Linked"/>).</summary>
    LinkedEventChainOpen = 2,

    IdMustNotBeZero = 10,
    DebitAccountIdMustNotBeZero = 11,
    CreditAccountIdMustNotBeZero = 12,
    AccountsMustBeDifferent = 13,
    PendingIdMustBeZero = 14,
    PendingIdMustNotBeZero = 15,
    PendingIdMustBeDifferent = 16,
    TimeoutReservedForPendingTransfer = 17,
    TimeoutTooLong = 18,
    AmountMustBePositive = 19,
    CodeMustNotBeZero = 20,
    FlagsAreMutuallyExclusive = 21,
    ReferenceTooLong = 22,

    DebitAccountNotFound = 30,
    CreditAccountNotFound = 31,
    AccountsMustHaveTheSameCurrency = 32,
    TransferCurrencyMismatch = 33,
    DebitAccountClosed = 34,
    CreditAccountClosed = 35,

    PendingTransferNotFound = 40,
    PendingTransferNotPending = 41,
    PendingTransferHasDifferentDebitAccountId = 42,
    PendingTransferHasDifferentCreditAccountId = 43,
    PendingTransferHasDifferentCurrency = 44,
    ExceedsPendingTransferAmount = 45,
    PendingTransferHasDifferentAmount = 46,
    PendingTransferAlreadyPosted = 47,
    PendingTransferAlreadyVoided = 48,
    PendingTransferExpired = 49,

    Exists = 60,
    ExistsWithDifferentFlags = 61,
    ExistsWithDifferentDebitAccountId = 62,
    ExistsWithDifferentCreditAccountId = 63,
    ExistsWithDifferentAmount = 64,
    ExistsWithDifferentPendingId = 65,
    ExistsWithDifferentTimeout = 66,
    ExistsWithDifferentCode = 67,
    ExistsWithDifferentReference = 68,
    ExistsWithDifferentCurrency = 69,

    OverflowsDebitsPending = 80,
    OverflowsCreditsPending = 81,
    OverflowsDebitsPosted = 82,
    OverflowsCreditsPosted = 83,
    OverflowsDebits = 84,
    OverflowsCredits = 85,

    ExceedsCredits = 90,
    ExceedsDebits = 91,
}

public static class TransferResultExtensions
{
    /// <summary>True for the outcomes after which the transfer is in the ledger: created now or before.</summary>
    public static bool IsApplied(this TransferResult result) => result is TransferResult.Created or TransferResult.Exists;

    /// <summary>True for the <c>ExistsWith…</c> family: the id was used before for a different transfer.</summary>
    public static bool IsExistsMismatch(this TransferResult result) =>
        result is >= TransferResult.ExistsWithDifferentFlags and <= TransferResult.ExistsWithDifferentCurrency;
}
