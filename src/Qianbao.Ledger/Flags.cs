namespace Qianbao.Ledger;

/// <summary>Account behaviour flags. Stored as an integer; values are part of the storage format.</summary>
[Flags]
public enum AccountFlags : ushort
{
    None = 0,
    /// <summary>Debits (posted + pending) may never exceed posted credits: a credit-normal account that never goes negative.</summary>
    DebitsMustNotExceedCredits = 1 << 0,
    /// <summary>Credits (posted + pending) may never exceed posted debits: a debit-normal account that never goes negative.</summary>
    CreditsMustNotExceedDebits = 1 << 1,
    /// <summary>The account takes no new transfers. Pending transfers may still be posted or voided.</summary>
    Closed = 1 << 2,
}

/// <summary>Transfer flags. Stored as an integer; values are part of the storage format.</summary>
[Flags]
public enum TransferFlags : ushort
{
    None = 0,
    /// <summary>This transfer succeeds or fails together with the next one in the batch.</summary>
    Linked = 1 << 0,
    /// <summary>A hold: reserves the amount until posted, voided or expired.</summary>
    Pending = 1 << 1,
    /// <summary>Posts (fully or partly) the pending transfer named by <c>PendingId</c>.</summary>
    PostPending = 1 << 2,
    /// <summary>Voids the pending transfer named by <c>PendingId</c>, releasing its hold.</summary>
    VoidPending = 1 << 3,
}

/// <summary>What became of a pending transfer. Stored as an integer.</summary>
public enum PendingState : byte
{
    /// <summary>Not a pending transfer.</summary>
    None = 0,
    Pending = 1,
    Posted = 2,
    Voided = 3,
    Expired = 4,
}
