using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// Base of every wallet page (<c>/wallet</c>): the wallet's sign-in cookie, money shown in yuan, and the request pieces
/// the API asks of a person (PIN, step-up, Idempotency-Key). No business rule lives here: amounts typed in yuan become
/// fen for the API, and anything that is not a plain amount is passed on as typed, so the API's own refusal is shown.
/// </summary>
public abstract class WalletPage : ConsolePage
{
    private protected override ConsoleKind Console => ConsoleKind.Wallet;

    /// <summary>A step-up code the API asked for (<c>step_up_required</c>): the verification the console requested for it.</summary>
    [BindProperty]
    public string? StepUpVerificationId { get; set; }

    [BindProperty]
    public string? StepUpCode { get; set; }

    /// <summary>The API named <c>totp</c> among the step-up methods: the code field is shown even when no SMS could be sent.</summary>
    public bool StepUpTotp { get; private set; }

    /// <summary>An amount of minor units as a person reads it: ¥1,234.50.</summary>
    public static string Money(long minor, string currency = "CNY")
    {
        var sign = minor < 0 ? "-" : "";
        var text = (Math.Abs(minor) / 100m).ToString("#,0.00", CultureInfo.InvariantCulture);
        return currency == "CNY" ? $"{sign}¥{text}" : $"{sign}{text} {currency}";
    }

    /// <summary>The JSON number of fen for a yuan amount typed as <c>12</c> or <c>12.34</c>; anything else as typed (the API refuses it).</summary>
    internal static object AmountField(string? yuan)
    {
        var text = yuan?.Trim() ?? "";
        if (decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && decimal.Round(value, 2) == value
            && value < 100_000_000_000m)
            return (long)(value * 100);
        return text;
    }

    /// <summary>RFC 3339 for the start of a China-time date typed as YYYY-MM-DD (plus <paramref name="days"/>); anything else as typed.</summary>
    internal static string? ChinaDayStart(string? date, int days = 0) =>
        string.IsNullOrWhiteSpace(date) ? null
        : DateOnly.TryParseExact(date.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)
            ? d.AddDays(days).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "T00:00:00+08:00"
            : date.Trim();

    /// <summary>The headers of a money request: the PIN, the form's Idempotency-Key and, when asked for, the step-up.</summary>
    internal Dictionary<string, string> MoneyHeaders(string? pin, string? idempotencyKey)
    {
        var headers = new Dictionary<string, string>();
        if (!string.IsNullOrEmpty(pin)) headers["X-Payment-Pin"] = pin;
        if (!string.IsNullOrEmpty(idempotencyKey)) headers["Idempotency-Key"] = idempotencyKey;
        if (!string.IsNullOrEmpty(StepUpCode))
            headers["X-Step-Up"] = StepUpVerificationId is { Length: > 0 } id ? $"sms={id}:{StepUpCode.Trim()}" : "totp=" + StepUpCode.Trim();
        return headers;
    }

    /// <summary>
    /// Shows a refusal. A step-up the API asks for gets an SMS code sent (purpose <c>step_up</c>) for the form to carry
    /// next time. Returns the login redirect when the sign-in is gone, else null (render the page).
    /// </summary>
    internal async Task<IActionResult?> RefusedAsync(ApiAnswer answer, CancellationToken ct)
    {
        if (Failed(answer)) return Redirect("/wallet/login");
        StepUpCode = null;
        if (answer.ErrorCode == "step_up_required")
        {
            StepUpTotp = answer.Body.TryGetProperty("methods", out var methods) && methods.ValueKind == JsonValueKind.Array
                && methods.EnumerateArray().Any(m => m.ValueKind == JsonValueKind.String && m.GetString() == "totp");
            var (code, message) = (ErrorCode, ErrorMessage);
            var sent = await Api.PostAsync("/v1/verifications", new { purpose = "step_up" }, Token, ct);
            StepUpVerificationId = sent.Ok ? sent.Text("verification_id") : null;
            // No code could be sent (one a minute per phone): say why, rather than ask for a code that is not coming;
            // unless the authenticator can give one, then the step-up is still what to ask for.
            if (!sent.Ok && Failed(sent)) return Redirect("/wallet/login");
            if (!sent.Ok && StepUpTotp) (ErrorCode, ErrorMessage) = (code, message);
        }
        return null;
    }

    /// <summary>Loads a GET answer for the page, or the login redirect when the sign-in is gone.</summary>
    internal async Task<(ApiAnswer Answer, IActionResult? Login)> LoadAsync(string path, CancellationToken ct)
    {
        var answer = await Api.GetAsync(path, Token, ct);
        if (answer.Ok) return (answer, null);
        return (answer, Failed(answer) ? Redirect("/wallet/login") : null);
    }

    /// <summary>A property of a JSON item as text ("" when absent or null).</summary>
    public static string Field(JsonElement item, string name) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.ToString() : "";

    public static bool Flag(JsonElement item, string name) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    public static long Number(JsonElement item, string name) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;

    /// <summary>A timestamp of the API (RFC 3339 UTC) in China time, as <c>2026-11-30 14:05</c>.</summary>
    public static string When(string rfc3339) =>
        DateTimeOffset.TryParse(rfc3339, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : rfc3339;

    /// <summary>What a coupon takes off, in words: ¥5.00 off, 10% off (at most ¥3.00), from ¥20.00.</summary>
    public string CouponOffer(JsonElement c)
    {
        var off = Field(c, "type") == "percent"
            ? string.Format(T("wallet.coupons.percent"), (Number(c, "percent_bps") / 100m).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture))
              + (Number(c, "cap") > 0 ? " " + string.Format(T("wallet.coupons.cap"), Money(Number(c, "cap"))) : "")
            : string.Format(T("wallet.coupons.off"), Money(Number(c, "amount")));
        return Number(c, "min_spend") > 0 ? off + " · " + string.Format(T("wallet.coupons.min"), Money(Number(c, "min_spend"))) : off;
    }

    /// <summary>The text of an API enum value (a transaction type, a tier, a status) in the page's language, else the value.</summary>
    public string Term(string prefix, string value) => ConsoleText.Has(prefix + value) ? T(prefix + value) : value;
}

/// <summary>The model of the transactions table (home and history): the page (for its texts) and the API's items.</summary>
public sealed record TransactionList(WalletPage Page, IReadOnlyList<JsonElement> Items);
