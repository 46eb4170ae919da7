namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// How much of a paid trade profit-sharing may still move. Two limits, both over every settlement of the trade:
/// what the merchant still holds of the sale (paid less the fee it kept, refunds and earlier settlements), and a share
/// cap of the paid amount (<c>Qianbao:Gateway:RoyaltyMaxBps</c>), so settlements cannot pass a sale's money on whole.
/// </summary>
internal static class RoyaltyBounds
{
    public const int BpsMax = 10_000;

    /// <summary>
    /// The most that further settlements of the trade may move, in minor units (never negative). The cap rounds down:
    /// the merchant never shares more than the stated rate.
    /// </summary>
    /// <param name="paidMinor">The trade's paid amount.</param>
    /// <param name="feeKeptMinor">The fee the platform keeps after refunds so far.</param>
    /// <param name="refundedMinor">Refunded so far.</param>
    /// <param name="settledMinor">Moved by earlier settlements.</param>
    /// <param name="royaltyMaxBps">Cap over all settlements, in basis points of the paid amount (0..10000).</param>
    public static long RemainingMinor(long paidMinor, long feeKeptMinor, long refundedMinor, long settledMinor, int royaltyMaxBps)
    {
        if (royaltyMaxBps is < 0 or > BpsMax) throw new ArgumentOutOfRangeException(nameof(royaltyMaxBps), royaltyMaxBps, "0..10000");
        var shareable = checked(paidMinor - feeKeptMinor - refundedMinor - settledMinor);
        var capped = checked(checked(paidMinor * royaltyMaxBps) / BpsMax - settledMinor);
        return Math.Max(0, Math.Min(shareable, capped));
    }

    /// <summary>True when a settlement of <paramref name="requestedMinor"/> (above zero) fits in <paramref name="remainingMinor"/>.</summary>
    public static bool Allows(long requestedMinor, long remainingMinor) => requestedMinor > 0 && requestedMinor <= remainingMinor;
}
