using Qianbao.Ledger;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Pipeline;

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

    /// <summary>
    /// The transfer giving back <paramref name="points"/> redeemed points after a refund (redeemed points → the buyer's points account),
    /// and the effect that makes them a lot expiring as points earned at <paramref name="paidAtUs"/> under <paramref name="expiryMonths"/>.
    /// </summary>
    public static (Transfer Transfer, IEffect Effect) Returned(TransferId transferId, Guid buyerId, long points, string tradeNo, long paidAtUs,
        int expiryMonths, long atUs) =>
        (new(transferId, ChartOfAccounts.PointsRedeemed().Id, ChartOfAccounts.UserPoints(buyerId).Id, points, Currency.Points,
            TransferCodes.PointsRedemptionReturn, Reference: tradeNo),
         new PointsRedemptionReturned(buyerId, transferId.Value, atUs, tradeNo, points, PointsRules.EarnedMonth(paidAtUs),
            Hosting.TimeProviderExtensions.ToUnixMicroseconds(PointsRules.ExpiresAt(paidAtUs, expiryMonths))));

    /// <summary>Creates the buyer's points account (a refund gives points back to it).</summary>
    public Task EnsureUserAsync(Guid buyerId, CancellationToken ct) => accounts.EnsureAsync(ChartOfAccounts.UserPoints(buyerId), buyerId, ct);

    /// <summary>The guard a payment redeeming <paramref name="points"/> at <paramref name="atUs"/> adds: the buyer's lots still good past the margin hold them.</summary>
    public static IGuard Guard(Guid buyerId, long points, long atUs) => new PointsUsableGuard(buyerId, points, atUs + PointsStore.RedemptionExpiryMarginUs);

    /// <summary>The effect to commit with it: consumes <paramref name="points"/> of the buyer's lots still good at <paramref name="atUs"/>, soonest expiry first, once.</summary>
    public static PointsConsumed Consumed(TransferId transferId, Guid buyerId, long points, long atUs) => new(buyerId, transferId.Value, atUs, points);
}
