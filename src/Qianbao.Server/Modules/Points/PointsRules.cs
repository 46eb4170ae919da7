namespace Qianbao.Server.Modules.Points;

/// <summary>What a multiplier is asked about: the payment that earns.</summary>
internal readonly record struct PointsEarningContext(Guid UserId, Guid MerchantId, string TradeNo, long PayAmountMinor, long PaidAtUs);

/// <summary>
/// A factor on the points a payment earns, in basis points (10000 = ×1). The hook for points campaigns
/// (<c>points:{multiplier_bps}</c>) and member levels, which a later session registers as singletons
/// (<c>services.AddSingleton&lt;IPointsMultiplier, …&gt;()</c>). None registered: every payment earns ×1.
/// </summary>
internal interface IPointsMultiplier
{
    /// <summary>The factor for this payment, in basis points (10000 = ×1, 0 = nothing); called once per payment by the earning subscriber.</summary>
    ValueTask<int> MultiplierBpsAsync(PointsEarningContext payment, CancellationToken ct);

    /// <summary>
    /// The factors of a batch of payments, in order (the earning subscriber asks once per batch). By default one
    /// <see cref="MultiplierBpsAsync"/> each; an implementation answers with a few set reads instead.
    /// </summary>
    async ValueTask<int[]> MultipliersBpsAsync(IReadOnlyList<PointsEarningContext> payments, CancellationToken ct)
    {
        var factors = new int[payments.Count];
        for (var i = 0; i < factors.Length; i++) factors[i] = await MultiplierBpsAsync(payments[i], ct);
        return factors;
    }
}

/// <summary>The arithmetic of points: what a payment earns, what a refund takes back, when a lot expires. Pure.</summary>
internal static class PointsRules
{
    private static readonly TimeSpan China = TimeSpan.FromHours(8);

    /// <summary>
    /// floor(yuan paid × <paramref name="pointsPerYuan"/>), then each multiplier in turn (floor(points × bps / 10000)), so
    /// ¥9.99 at 1 point per yuan is 9 points and ×1 multipliers change nothing. Only CNY payments earn.
    /// </summary>
    public static long Earned(long payAmountMinor, string currency, int pointsPerYuan, IEnumerable<int> multipliersBps)
    {
        if (currency != "CNY" || payAmountMinor <= 0) return 0;
        // Yuan have 100 fen; the product stays far from overflow (amounts ≤ 10^10 fen, rate ≤ 1000).
        var points = checked(payAmountMinor * pointsPerYuan) / 100;
        foreach (var bps in multipliersBps) points = (long)((Int128)points * Math.Max(0, bps) / 10_000);
        return points;
    }

    /// <summary>
    /// What refunds of <paramref name="refundedTotalMinor"/> out of <paramref name="totalMinor"/> take back of
    /// <paramref name="earned"/> in all: floor(earned × refunded / total), so a full refund takes back exactly what was earned.
    /// </summary>
    public static long ClawbackDue(long earned, long refundedTotalMinor, long totalMinor)
    {
        if (totalMinor <= 0) return 0;
        var refunded = Math.Clamp(refundedTotalMinor, 0, totalMinor);
        return (long)((Int128)earned * refunded / totalMinor);
    }

    /// <summary>The fen <paramref name="points"/> redeem for at <paramref name="pointsPerYuan"/>; null when they do not make whole fen.</summary>
    public static long? RedeemFen(long points, int pointsPerYuan) =>
        points < 0 || checked(points * 100) % pointsPerYuan != 0 ? null : points * 100 / pointsPerYuan;

    /// <summary>
    /// The most points a payment of <paramref name="totalFen"/> may redeem after <paramref name="discountFen"/> of other discounts:
    /// worth at most floor(total × <paramref name="maxShareBps"/> / 10000) (a share of the trade's total, not of what is left) and
    /// at most what is left less 1 fen (the buyer pays at least a fen), no more than <paramref name="usable"/>, rounded down to
    /// whole fen.
    /// </summary>
    public static long UsableMax(long totalFen, long discountFen, long usable, int pointsPerYuan, int maxShareBps)
    {
        var maxFen = Math.Min((long)((Int128)totalFen * maxShareBps / 10_000), totalFen - discountFen - 1);
        if (maxFen <= 0 || usable <= 0) return 0;
        var points = Math.Min(usable, (long)((Int128)maxFen * pointsPerYuan / 100));
        var step = pointsPerYuan / (int)System.Numerics.BigInteger.GreatestCommonDivisor(pointsPerYuan, 100);
        return points - points % step;
    }

    /// <summary>The month (China time) an instant falls in, <c>yyyy-MM</c>.</summary>
    public static string EarnedMonth(long atUs) =>
        Hosting.TimeProviderExtensions.FromUnixMicroseconds(atUs).ToOffset(China).ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// When points earned at <paramref name="earnedAtUs"/> are gone: the end of the <paramref name="expiryMonths"/>-th calendar
    /// month after the month they were earned, China time, i.e. 00:00 China on the first day of the month after that
    /// (earned 2026-01-15 with 12 months: good through 2027-01-31, gone at 2027-02-01 00:00 China).
    /// </summary>
    public static DateTimeOffset ExpiresAt(long earnedAtUs, int expiryMonths)
    {
        var earned = Hosting.TimeProviderExtensions.FromUnixMicroseconds(earnedAtUs).ToOffset(China);
        var firstOfMonth = new DateTimeOffset(earned.Year, earned.Month, 1, 0, 0, 0, China);
        return firstOfMonth.AddMonths(expiryMonths + 1);
    }
}
