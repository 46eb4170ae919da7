using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Points;

namespace Qianbao.Server.Tests.Points;

/// <summary>The arithmetic of points, without a server.</summary>
public sealed class PointsRulesTests
{
    [Theory]
    [InlineData(999, 1, 9)]
    [InlineData(1000, 1, 10)]
    [InlineData(99, 1, 0)]
    [InlineData(999, 3, 29)]
    [InlineData(1000, 0, 0)]
    public void A_payment_earns_the_floor_of_yuan_times_the_rate(long payMinor, int perYuan, long expected) =>
        PointsRules.Earned(payMinor, "CNY", perYuan, []).ShouldBe(expected);

    [Fact]
    public void Multipliers_apply_in_turn_and_only_CNY_earns()
    {
        PointsRules.Earned(1000, "CNY", 1, [10_000]).ShouldBe(10);
        PointsRules.Earned(1000, "CNY", 1, [15_000, 20_000]).ShouldBe(30);
        PointsRules.Earned(999, "CNY", 1, [15_000]).ShouldBe(13); // floor(9 × 1.5)
        PointsRules.Earned(1000, "USD", 1, []).ShouldBe(0);
    }

    [Theory]
    [InlineData(10, 55, 1000, 0)]
    [InlineData(10, 455, 1000, 4)]
    [InlineData(10, 1000, 1000, 10)]
    [InlineData(9, 998, 999, 8)]
    [InlineData(9, 999, 999, 9)]
    public void Clawbacks_are_the_floor_of_the_refunded_share_and_a_full_refund_takes_all(long earned, long refunded, long total, long expected) =>
        PointsRules.ClawbackDue(earned, refunded, total).ShouldBe(expected);

    [Theory]
    [InlineData("2026-01-15T12:00:00+08:00", 12, "2027-02-01T00:00:00+08:00")]
    [InlineData("2026-01-31T23:59:59+08:00", 12, "2027-02-01T00:00:00+08:00")]
    [InlineData("2026-01-31T16:00:00+00:00", 12, "2027-03-01T00:00:00+08:00")] // already February 1st in China
    [InlineData("2026-12-31T12:00:00+08:00", 12, "2028-01-01T00:00:00+08:00")]
    [InlineData("2026-03-10T12:00:00+08:00", 1, "2026-05-01T00:00:00+08:00")]
    public void Points_expire_at_the_end_of_the_nth_month_after_the_China_month_earned(string earned, int months, string expires)
    {
        var earnedAtUs = DateTimeOffset.Parse(earned, System.Globalization.CultureInfo.InvariantCulture).ToUnixMicroseconds();
        PointsRules.ExpiresAt(earnedAtUs, months).ShouldBe(DateTimeOffset.Parse(expires, System.Globalization.CultureInfo.InvariantCulture));
    }
}
