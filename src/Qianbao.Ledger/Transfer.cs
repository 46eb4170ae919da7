namespace Qianbao.Ledger;

/// <summary>
/// A request to move <see cref="Amount"/> minor units of <see cref="Currency"/> from
/// <see cref="DebitAccountId"/> to <see cref="CreditAccountId"/>.
/// <list type="bullet">
/// <item><see cref="Amount"/>: 1..<see cref="long.MaxValue"/> for plain and pending transfers; for a post,
/// 0 means "the whole pending amount" and otherwise at most the pending amount; for a void, 0 or the pending amount.</item>
/// <item><see cref="PendingId"/>: zero unless posting or voiding; then the pending transfer's id. A post or void
/// may leave the account ids zero to take them from the pending transfer.</item>
/// <item><see cref="TimeoutSeconds"/>: only for pending transfers; 0 means the hold never expires.</item>
/// <item><see cref="Reference"/>: opaque caller data, at most <see cref="ReferenceLengthMax"/> characters.</item>
/// </list>
/// </summary>
public sealed record Transfer(
    TransferId Id,
    AccountId DebitAccountId,
    AccountId CreditAccountId,
    long Amount,
    Currency Currency,
    ushort Code,
    TransferFlags Flags = TransferFlags.None,
    TransferId PendingId = default,
    uint TimeoutSeconds = 0,
    string? Reference = null)
{
    public const int ReferenceLengthMax = 256;

    /// <summary>Longest hold: 30 days. Holds past that are a caller bug.</summary>
    public const uint TimeoutSecondsMax = 30 * 24 * 3600;

    public bool Has(TransferFlags flag) => (Flags & flag) == flag;
}

/// <summary>
/// A transfer as the ledger recorded it: fields resolved (a post's accounts and amount filled in from
/// its pending transfer), its commit timestamp, and for pending transfers what became of them.
/// </summary>
/// <param name="TimestampUs">Unix time in microseconds at which the ledger applied the transfer.</param>
/// <param name="State">For a pending transfer, what became of it; <see cref="PendingState.None"/> otherwise.</param>
public sealed record TransferRecord(
    TransferId Id,
    AccountId DebitAccountId,
    AccountId CreditAccountId,
    long Amount,
    Currency Currency,
    ushort Code,
    TransferFlags Flags,
    TransferId PendingId,
    uint TimeoutSeconds,
    string? Reference,
    long TimestampUs,
    PendingState State)
{
    /// <summary>Unix microseconds after which a pending transfer can no longer be posted; 0 when it never expires.</summary>
    public long ExpiresAtUs => TimeoutSeconds == 0 ? 0 : TimestampUs + TimeoutSeconds * 1_000_000L;

    public bool Has(TransferFlags flag) => (Flags & flag) == flag;
}
