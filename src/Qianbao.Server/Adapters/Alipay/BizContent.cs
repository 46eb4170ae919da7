using System.Text.Json;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>Strict readers for <c>biz_content</c> fields: present-and-string, within a length limit.</summary>
internal static class BizContent
{
    /// <summary>A string field; numbers are accepted as their text (some SDKs send total_amount as a number).</summary>
    public static string? String(this JsonElement biz, string name) =>
        biz.ValueKind == JsonValueKind.Object && biz.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Number => v.GetRawText(),
                _ => null,
            }
            : null;

    /// <summary>A required string of 1..<paramref name="lengthMax"/> characters, or an error result.</summary>
    public static GatewayResult? Require(this JsonElement biz, string name, int lengthMax, out string value)
    {
        value = biz.String(name) ?? "";
        if (value.Length == 0) return GatewayResult.MissingParameter(name);
        if (value.Length > lengthMax || value.Any(char.IsControl)) return GatewayResult.InvalidParameter($"参数 {name} 不合法");
        return null;
    }

    /// <summary>An optional string of at most <paramref name="lengthMax"/> characters, or an error result.</summary>
    public static GatewayResult? Optional(this JsonElement biz, string name, int lengthMax, out string? value)
    {
        value = biz.String(name);
        if (value is { Length: 0 }) value = null;
        if (value is not null && (value.Length > lengthMax || value.Any(char.IsControl))) return GatewayResult.InvalidParameter($"参数 {name} 不合法");
        return null;
    }

    /// <summary>A required yuan amount, parsed strictly (0.01 .. 100000000.00, two decimals at most).</summary>
    public static GatewayResult? RequireAmount(this JsonElement biz, string name, out long fen)
    {
        fen = 0;
        var text = biz.String(name);
        if (string.IsNullOrEmpty(text)) return GatewayResult.MissingParameter(name);
        return AlipayAmount.TryParseYuan(text, out fen) ? null : GatewayResult.InvalidParameter($"参数 {name} 金额不合法");
    }

    /// <summary>Longest <c>timeout_express</c> text read: 7 digits and a unit already exceed 15 days in every unit.</summary>
    public const int TimeoutExpressLengthMax = 8;

    /// <summary>
    /// Parses Alipay's <c>timeout_express</c> (<c>90m</c>, <c>2h</c>, <c>1d</c>: 1 minute .. 15 days inclusive, whole
    /// numbers only) or <c>1c</c> (until the end of the current day, China time) into the deadline counted from
    /// <paramref name="now"/>. False for anything else, including values too large to represent.
    /// </summary>
    public static bool TryParseTimeout(string text, DateTimeOffset now, out DateTimeOffset deadline)
    {
        deadline = default;
        if (text == "1c")
        {
            deadline = Modules.Acquiring.TradeDeadlines.EndOfChinaDay(now);
            return true;
        }
        if (text.Length is < 2 or > TimeoutExpressLengthMax || !long.TryParse(text.AsSpan(0, text.Length - 1), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var n))
            return false;
        long minutes;
        switch (text[^1])
        {
            case 'm': minutes = n; break;
            case 'h': minutes = checked(n * 60); break;
            case 'd': minutes = checked(n * 1_440); break;
            default: return false;
        }
        if (Modules.Acquiring.TradeDeadlines.After(now, minutes) is not { } at) return false;
        deadline = at;
        return true;
    }
}
