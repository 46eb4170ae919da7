using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Alipay;

public sealed class AlipayAmountTests
{
    [Theory]
    [InlineData("0.01", 1L)]
    [InlineData("0.1", 10L)]
    [InlineData("0.5", 50L)]
    [InlineData("1", 100L)]
    [InlineData("1.0", 100L)]
    [InlineData("12.3", 1230L)]
    [InlineData("12.30", 1230L)]
    [InlineData("99999999.99", 9_999_999_999L)]
    [InlineData("100000000", 10_000_000_000L)]
    [InlineData("100000000.00", 10_000_000_000L)]
    public void Parses_valid_yuan_strings_to_fen(string text, long expectedFen)
    {
        AlipayAmount.TryParseYuan(text, out var fen).ShouldBeTrue();
        fen.ShouldBe(expectedFen);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("0.0")]
    [InlineData("0.00")]
    [InlineData("0.001")]
    [InlineData("1.001")]
    [InlineData("-1")]
    [InlineData("-0.01")]
    [InlineData("+1")]
    [InlineData("1e3")]
    [InlineData("1E3")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData(".")]
    [InlineData("01")]
    [InlineData("00.01")]
    [InlineData("1,000")]
    [InlineData("1..0")]
    [InlineData("1.0.0")]
    [InlineData("0x10")]
    [InlineData("１")] // a full-width digit is a digit to char.IsDigit, not to Alipay
    [InlineData("١")] // Arabic-Indic one
    [InlineData("100000000.01")]
    [InlineData("100000001")]
    [InlineData("999999999999")]
    [InlineData("9999999999999999999999")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    public void Rejects_anything_else(string? text)
    {
        AlipayAmount.TryParseYuan(text, out var fen).ShouldBeFalse();
        fen.ShouldBe(0);
    }

    [Theory]
    [InlineData(0L, "0.00")]
    [InlineData(1L, "0.01")]
    [InlineData(10L, "0.10")]
    [InlineData(1230L, "12.30")]
    [InlineData(100L, "1.00")]
    [InlineData(10_000_000_000L, "100000000.00")]
    [InlineData(long.MaxValue, "92233720368547758.07")]
    public void Formats_fen_with_exactly_two_decimals(long fen, string expected) =>
        AlipayAmount.FormatYuan(fen).ShouldBe(expected);

    [Fact]
    public void Formatting_a_negative_amount_is_a_bug() =>
        Should.Throw<ArgumentOutOfRangeException>(() => AlipayAmount.FormatYuan(-1));

    [Fact]
    public void Format_then_parse_round_trips_over_the_whole_range_edges()
    {
        foreach (var fen in new[] { AlipayAmount.MinFen, 2L, 99L, 100L, 101L, 123_456_789L, AlipayAmount.MaxFen - 1, AlipayAmount.MaxFen })
        {
            AlipayAmount.TryParseYuan(AlipayAmount.FormatYuan(fen), out var parsed).ShouldBeTrue();
            parsed.ShouldBe(fen);
        }
    }
}
