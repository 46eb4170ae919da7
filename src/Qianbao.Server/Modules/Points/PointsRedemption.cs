using Qianbao.Ledger;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Points;

/// <summary>
/// What the payment integration (redeeming <c>use_points</c> at payment, a later session) puts into a payment's command: the
/// PTS transfer to add to the payment's linked chain and the effect that consumes the buyer's lots with it. The CNY side of
/// the discount (the platform's points budget paying the merchant) is the payment's own transfer. See docs/ARCHITECTURE.md,
/// Points.
/// </summary>
internal sealed class PointsRedemption(PointsStore store, LedgerAccounts accounts)
{
    /// <summary>Points the buyer may redeem at <paramref name="nowUs"/>: what remains of lots still good (not the raw balance, which may hold lots due but not yet swept).</summary>
    public Task<long> UsableAsync(Guid buyerId, long nowUs, CancellationToken ct) => store.UsableAsync(buyerId, nowUs, ct);

    /// <summary>Creates the redeemed-points account on first use (call before submitting).</summary>
    public Task EnsureAccountsAsync(CancellationToken ct) => accounts.EnsureAsync(ChartOfAccounts.PointsRedeemed(), null, ct);

    /// <summary>
    /// The redemption transfer (buyer's points → redeemed points) with id <paramref name="transferId"/>, derived from the payment so a
    /// replay is the same transfer; the caller sets <see cref="TransferFlags.Linked"/> where the chain needs it.
    /// </summary>
    public static Transfer Transfer(TransferId transferId, Guid buyerId, long points, TransferFlags flags = TransferFlags.None, string? reference = null) =>
        new(transferId, ChartOfAccounts.UserPoints(buyerId).Id, ChartOfAccounts.PointsRedeemed().Id, points, Currency.Points,
            TransferCodes.PointsRedemption, flags, Reference: reference);

    /// <summary>The effect to commit with it: consumes <paramref name="points"/> of the buyer's lots still good at <paramref name="atUs"/>, soonest expiry first, once.</summary>
    public static PointsConsumed Consumed(TransferId transferId, Guid buyerId, long points, long atUs) => new(buyerId, transferId.Value, atUs, points);
}
