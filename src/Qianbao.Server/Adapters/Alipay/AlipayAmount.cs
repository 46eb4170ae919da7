using System.Globalization;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// Converts between Alipay's yuan strings (<c>total_amount</c>, <c>refund_amount</c>, ...) and <c>long</c> fen
/// (minor units, 1 yuan = 100 fen). No floating point is involved at any step.
/// </summary>
internal static class AlipayAmount
{
    /// <summary>Smallest amount a gateway request may carry: 0.01 yuan.</summary>
    public const long MinFen = 1;

    /// <summary>Largest amount a gateway request may carry: 100000000.00 yuan.</summary>
    public const long MaxFen = 10_000_000_000;

    /// <summary>"100000000.00" is the longest accepted text; anything longer is rejected before scanning.</summary>
    private const int TextLengthMax = 12;

    /// <summary>
    /// Parses a yuan string strictly: ASCII digits without a leading zero (except a lone <c>0</c> before the point),
    /// optionally a point followed by one or two digits, and a value in 0.01..100000000.00
    /// (<see cref="MinFen"/>..<see cref="MaxFen"/>). Rejects signs, exponents, whitespace, a bare or trailing point,
    /// a missing integer part, more than two decimals, and zero. Never throws.
    /// </summary>
    public static bool TryParseYuan(string? text, out long fen)
    {
        fen = 0;
        if (string.IsNullOrEmpty(text) || text.Length > TextLengthMax)
        {
            return false;
        }

        var point = text.IndexOf('.');
        var integerPart = point < 0 ? text.AsSpan() : text.AsSpan(0, point);
        var fractionPart = point < 0 ? ReadOnlySpan<char>.Empty : text.AsSpan(point + 1);

        if (integerPart.IsEmpty || !AllAsciiDigits(integerPart)
            || (integerPart.Length > 1 && integerPart[0] == '0'))
        {
            return false;
        }

        if (point >= 0 && (fractionPart.IsEmpty || fractionPart.Length > 2 || !AllAsciiDigits(fractionPart)))
        {
            return false;
        }

        // At most 12 characters, so the integer part has at most 12 digits and cannot overflow a long even
        // after scaling by 100; checked arithmetic still guards the invariant.
        var yuan = long.Parse(integerPart, NumberStyles.None, CultureInfo.InvariantCulture);
        long cents = 0;
        if (!fractionPart.IsEmpty)
        {
            cents = long.Parse(fractionPart, NumberStyles.None, CultureInfo.InvariantCulture);
            if (fractionPart.Length == 1)
            {
                cents *= 10;
            }
        }

        var value = checked(yuan * 100 + cents);
        if (value is < MinFen or > MaxFen)
        {
            return false;
        }

        fen = value;
        return true;
    }

    /// <summary>
    /// Formats fen as a yuan string with exactly two decimals, as Alipay writes amounts in responses and
    /// notifications: 1230 → <c>12.30</c>, 0 → <c>0.00</c>. <paramref name="fen"/> must be 0 or more.
    /// </summary>
    public static string FormatYuan(long fen)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fen);
        var yuan = fen / 100;
        var cents = fen % 100;
        return string.Create(CultureInfo.InvariantCulture, $"{yuan}.{cents:D2}");
    }

    private static bool AllAsciiDigits(ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
