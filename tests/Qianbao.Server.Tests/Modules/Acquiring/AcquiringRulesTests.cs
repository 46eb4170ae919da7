using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Modules.Acquiring;

/// <summary>The acquiring domain's small decisions, without I/O: code lifetimes, trade deadlines, settlement bounds.</summary>
public sealed class AcquiringRulesTests
{
    private static readonly DateTimeOffset Noon = new(2025, 3, 14, 12, 0, 0, TimeSpan.FromHours(8));

    [Theory]
    [InlineData(1_000, 0, true)]
    [InlineData(1_000, 999, true)]
    [InlineData(1_000, 1_000, false)] // the lifetime's end is exclusive
    [InlineData(1_000, 61_000_000, false)]
    public void Payment_code_authorises_attempts_only_inside_its_lifetime(long expiresAtUs, long nowUs, bool authorised) =>
        PaymentCodeLifetime.AuthorisesAttempt(expiresAtUs, nowUs).ShouldBe(authorised);

    [Theory]
    [InlineData("1m", 1)]
    [InlineData("90m", 90)]
    [InlineData("2h", 120)]
    [InlineData("15d", 15 * 1_440)]
    [InlineData("21600m", 21_600)]
    [InlineData("360h", 21_600)]
    public void Timeout_express_inside_the_range_sets_the_deadline(string text, long minutes)
    {
        BizContent.TryParseTimeout(text, Noon, out var deadline).ShouldBeTrue(text);
        deadline.ShouldBe(Noon.AddMinutes(minutes));
    }

    [Theory]
    [InlineData("0m")]
    [InlineData("21601m")]
    [InlineData("361h")]
    [InlineData("16d")]
    [InlineData("99999999d")]
    [InlineData("9223372036854775807d")]
    [InlineData("9999999d")]
    [InlineData("1.5h")]
    [InlineData("-1m")]
    [InlineData("+5m")]
    [InlineData(" 5m")]
    [InlineData("5")]
    [InlineData("m")]
    [InlineData("5s")]
    [InlineData("2c")]
    [InlineData("")]
    public void Timeout_express_outside_the_range_or_malformed_is_refused(string text) =>
        BizContent.TryParseTimeout(text, Noon, out _).ShouldBeFalse(text);

    [Fact]
    public void One_c_closes_at_the_next_midnight_in_china()
    {
        BizContent.TryParseTimeout("1c", Noon, out var deadline).ShouldBeTrue();
        deadline.ShouldBe(new DateTimeOffset(2025, 3, 15, 0, 0, 0, TimeSpan.FromHours(8)));
        // 23:30 UTC is already 07:30 of the next day in China.
        TradeDeadlines.EndOfChinaDay(new DateTimeOffset(2025, 3, 14, 23, 30, 0, TimeSpan.Zero))
            .ShouldBe(new DateTimeOffset(2025, 3, 16, 0, 0, 0, TimeSpan.FromHours(8)));
        // Exactly midnight belongs to the day that starts.
        TradeDeadlines.EndOfChinaDay(new DateTimeOffset(2025, 3, 15, 0, 0, 0, TimeSpan.FromHours(8)))
            .ShouldBe(new DateTimeOffset(2025, 3, 16, 0, 0, 0, TimeSpan.FromHours(8)));
    }

    [Theory]
    // paid, fee kept, refunded, settled, bps → remaining
    [InlineData(10_000, 60, 0, 0, 3_000, 3_000)] // the cap binds
    [InlineData(10_000, 60, 0, 2_000, 3_000, 1_000)] // earlier settlements count against the cap
    [InlineData(10_000, 60, 0, 3_000, 3_000, 0)]
    [InlineData(1_000, 1, 900, 0, 3_000, 99)] // what is left of the sale binds: 10.00 - 9.00 refunded - 0.01 fee
    [InlineData(10_000, 100, 0, 0, 10_000, 9_900)] // no cap: everything but the fee
    [InlineData(10_000, 100, 0, 0, 0, 0)] // cap 0: no profit-sharing at all
    [InlineData(10_000, 0, 10_000, 0, 3_000, 0)] // fully refunded
    [InlineData(10_000, 60, 9_000, 2_000, 3_000, 0)] // refunded after settling: never negative
    [InlineData(3, 0, 0, 0, 3_000, 0)] // the cap rounds down (0.9 fen)
    public void Settlement_remaining_is_the_smaller_of_what_is_left_and_the_cap(long paid, long fee, long refunded, long settled, int bps, long remaining) =>
        RoyaltyBounds.RemainingMinor(paid, fee, refunded, settled, bps).ShouldBe(remaining);

    [Fact]
    public void Settlement_allows_only_positive_amounts_within_the_remaining()
    {
        RoyaltyBounds.Allows(1, 1).ShouldBeTrue();
        RoyaltyBounds.Allows(2, 1).ShouldBeFalse();
        RoyaltyBounds.Allows(0, 1).ShouldBeFalse();
        Should.Throw<ArgumentOutOfRangeException>(() => RoyaltyBounds.RemainingMinor(100, 0, 0, 0, 10_001));
        Should.Throw<ArgumentOutOfRangeException>(() => RoyaltyBounds.RemainingMinor(100, 0, 0, 0, -1));
        Should.Throw<OverflowException>(() => RoyaltyBounds.RemainingMinor(long.MaxValue, 0, 0, 0, 10_000));
    }
}
