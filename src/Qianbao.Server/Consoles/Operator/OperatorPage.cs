using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// Base of every <c>/operator</c> page: the operator console's sign-in (an operator access token from
/// <c>POST /admin/v1/auth/token</c>, or the bootstrap operator key, which is itself a bearer credential), and small
/// formatting helpers. Roles are the API's: a page never decides what an operator may see, it shows the API's 403.
/// </summary>
public abstract class OperatorPage : ConsolePage
{
    private protected override ConsoleKind Console => ConsoleKind.Operator;

    /// <summary>Sends to the login page (after a 401 the sign-in cookie is already cleared by <see cref="ConsolePage.Failed"/>).</summary>
    protected IActionResult ToLogin() =>
        Redirect("/operator/login?returnUrl=" + Uri.EscapeDataString(Request.Path + Request.QueryString));

    /// <summary>Records a refusal for the page; a redirect to the login page when the sign-in is gone, else null.</summary>
    internal IActionResult? Refused(ApiAnswer answer) => Failed(answer) ? ToLogin() : null;

    /// <summary>A GET of the API; null (with the refusal recorded for the page) when it was refused.</summary>
    internal async Task<ApiAnswer?> ReadAsync(string path, CancellationToken ct)
    {
        var answer = await Api.GetAsync(path, Token, ct);
        if (answer.Ok) return answer;
        Failed(answer);
        return null;
    }

    /// <summary>True when the last API call ended the sign-in (401): the handler should redirect to the login page.</summary>
    protected bool SessionEnded => ErrorCode is "unauthorized" or "token_expired";

    /// <summary>Shows the confirmation of the action a redirect came back from (<c>?done=1</c>).</summary>
    protected void ShowDone()
    {
        if (Request.Query.ContainsKey("done")) DoneMessage = T("form.done");
    }

    /// <summary>
    /// An amount typed in yuan ("12.34") as the API's minor units (1234). Anything that is not a yuan amount with at most
    /// two decimals goes to the API as typed, so the refusal (<c>invalid_amount</c>) and its wording are the API's.
    /// </summary>
    public static object AmountMinor(string? yuan) =>
        decimal.TryParse(yuan?.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && decimal.Round(value, 2) == value
            && value * 100 <= long.MaxValue ? (long)(value * 100) : yuan ?? "";

    /// <summary>After a successful action: back to the page by GET with the confirmation (so a reload does not repeat it).</summary>
    protected IActionResult Done(string path) => Redirect(path + (path.Contains('?') ? "&" : "?") + "done=1");

    /// <summary>Minor units of CNY as a person reads them (¥1,234.56).</summary>
    public static string Money(long minor) =>
        (minor < 0 ? "-¥" : "¥") + (Math.Abs(minor) / 100m).ToString("N2", CultureInfo.InvariantCulture);

    public static string Money(JsonElement element, string name) => Money(Number(element, name));

    public static long Number(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : 0;

    public static string Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : v.ToString() : "";

    public static bool Flag(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    public static JsonElement Child(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) ? v : default;

    public static IEnumerable<JsonElement> Items(JsonElement element, string name = "items") =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : [];

    /// <summary>A ratio (0..1, as the API gives rates) as a percentage; "–" when there is none.</summary>
    public static string Percent(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number
            ? (v.GetDecimal() * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%" : "–";

    /// <summary>An RFC 3339 time from the API in China time, to the minute.</summary>
    public static string Time(JsonElement element, string name) =>
        DateTimeOffset.TryParse(Text(element, name), CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
            ? at.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : Text(element, name);

    /// <summary>The first 8 characters of a uuid (other ids as they are), for tables (the full id is in the link or the title).</summary>
    public static string Short(string id) => Guid.TryParse(id, out _) ? id[..8] : id;

    /// <summary>Today in China (the API's analytics days).</summary>
    public static DateOnly ChinaToday => DateOnly.FromDateTime(DateTime.UtcNow.AddHours(8));

    /// <summary>Texts for an API enum value: the key <c>op.value.{value}</c> when the table has it, else the value itself.</summary>
    public string Value(string value) => ConsoleText.Has("op.value." + value) ? T("op.value." + value) : value;
}
