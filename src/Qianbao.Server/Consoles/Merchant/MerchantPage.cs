using System.Globalization;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// Base of every <c>/merchant</c> page: the merchant console's sign-in cookie, and how amounts and times are shown (fen as
/// ¥ with 2 decimals, instants in China time, as the shop reads its till).
/// </summary>
public abstract class MerchantPage : ConsolePage
{
    private protected override ConsoleKind Console => ConsoleKind.Merchant;

    public static string Yuan(long fen) => MerchantFormat.Yuan(fen);

    public static string ChinaTime(string instant) => MerchantFormat.ChinaTime(instant);

    /// <summary>
    /// Shows a refusal the page made itself on input it could not even send (an amount that is not yuan), in the same
    /// words the API's code has in the page's language.
    /// </summary>
    private protected void Refused(string code, string englishDetail)
    {
        ErrorCode = code;
        ErrorMessage = ErrorTexts.Message(code, englishDetail, Language);
    }

    /// <summary>
    /// Calls the API and, for a refusal, records it; a lost sign-in (401) yields the redirect to the login page.
    /// </summary>
    internal async Task<(ApiAnswer Answer, Microsoft.AspNetCore.Mvc.IActionResult? Login)> GetOrLoginAsync(string path, CancellationToken ct)
    {
        var answer = await Api.GetAsync(path, Token, ct);
        if (answer.Ok) return (answer, null);
        return (answer, Failed(answer) ? ToLogin() : null);
    }

    /// <summary>The login page, coming back here after it (the sign-in was refused: expired, disabled, or none).</summary>
    private protected Microsoft.AspNetCore.Mvc.IActionResult ToLogin() =>
        Redirect("/merchant/login?returnUrl=" + Uri.EscapeDataString(Request.Path + Request.QueryString));
}

/// <summary>Amounts and times as the merchant console shows them.</summary>
internal static class MerchantFormat
{
    private static readonly TimeSpan China = TimeSpan.FromHours(8);

    /// <summary>Fen as yuan: <c>¥1,234.50</c>, <c>-¥0.06</c>.</summary>
    public static string Yuan(long fen) =>
        (fen < 0 ? "-¥" : "¥") + (Math.Abs((decimal)fen) / 100m).ToString("N2", CultureInfo.InvariantCulture);

    /// <summary>An RFC 3339 instant from the API as China time (<c>2026-11-30 16:05:09</c>); other text as it is.</summary>
    public static string ChinaTime(string instant) =>
        DateTimeOffset.TryParse(instant, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
            ? at.ToOffset(China).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : instant;

    /// <summary>Today's China-time date.</summary>
    public static DateOnly Today(TimeProvider clock) => DateOnly.FromDateTime(clock.GetUtcNow().ToOffset(China).DateTime);

    /// <summary>
    /// A yuan amount typed in a form (<c>12</c>, <c>12.3</c>, <c>12.34</c>) as fen; null when it is not one. Parsing what a
    /// person typed is input handling: whether the amount may be refunded is the API's to say.
    /// </summary>
    public static long? ParseYuan(string? text)
    {
        text = text?.Trim().TrimStart('¥', '￥').Replace(",", "", StringComparison.Ordinal);
        if (string.IsNullOrEmpty(text) || text.Length > 16) return null;
        var dot = text.IndexOf('.');
        var whole = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? "" : text[(dot + 1)..];
        if (whole.Length == 0 || fraction.Length > 2 || (dot >= 0 && fraction.Length == 0)) return null;
        if (!whole.All(char.IsAsciiDigit) || !fraction.All(char.IsAsciiDigit)) return null;
        if (!long.TryParse(whole, NumberStyles.None, CultureInfo.InvariantCulture, out var yuan) || yuan > 100_000_000_000) return null;
        return yuan * 100 + (fraction.Length == 0 ? 0 : int.Parse(fraction.PadRight(2, '0'), CultureInfo.InvariantCulture));
    }

    /// <summary>A QR image (PNG, base64 for a <c>data:</c> URI) of <paramref name="text"/>: an authenticator's <c>otpauth://</c> enrolment.</summary>
    public static string QrPngBase64(string text)
    {
        using var generator = new QRCoder.QRCodeGenerator();
        using var data = generator.CreateQrCode(text, QRCoder.QRCodeGenerator.ECCLevel.M);
        return Convert.ToBase64String(new QRCoder.PngByteQRCode(data).GetGraphic(5));
    }

    /// <summary>The start of a China-time day as the RFC 3339 instant the trade search takes.</summary>
    public static string DayStart(DateOnly day) =>
        new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), China).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
}
