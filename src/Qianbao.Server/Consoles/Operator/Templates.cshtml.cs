using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Modules.Notifications;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/templates?type=&amp;locale=</c>: a notification text (<c>GET /admin/v1/messaging/templates/{type}/{locale}</c>)
/// and its replacement (<c>PUT</c>, validated by the API: Liquid, known variables only). The type list is the
/// notifier's catalogue of built-in texts (the API has no list route).
/// </summary>
public sealed class OperatorTemplatesModel : OperatorPage
{
    [BindProperty(SupportsGet = true)]
    public string? Type { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Locale { get; set; }

    public JsonElement Template { get; private set; }

    public static IReadOnlyList<string> Types => NotificationTemplates.Types.Order(StringComparer.Ordinal).ToList();

    public static readonly string[] Locales = ["zh-CN", "en"];

    private string ApiPath => $"/admin/v1/messaging/templates/{Uri.EscapeDataString(Type ?? "")}/{Uri.EscapeDataString(Locale ?? "zh-CN")}";

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        ShowDone();
        return await ShowAsync(ct);
    }

    public async Task<IActionResult> OnPostAsync(string? title, string? body, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PutAsync(ApiPath, new { title, body }, Token, ct);
        if (answer.Ok) return Done($"/operator/templates?type={Uri.EscapeDataString(Type ?? "")}&locale={Uri.EscapeDataString(Locale ?? "")}");
        if (Refused(answer) is { } gone) return gone;
        var (code, message) = (ErrorCode, ErrorMessage);
        var shown = await ShowAsync(ct);
        (ErrorCode, ErrorMessage) = (code, message);
        return shown;
    }

    private async Task<IActionResult> ShowAsync(CancellationToken ct)
    {
        if (string.IsNullOrEmpty(Type)) return Page();
        var answer = await ReadAsync(ApiPath, ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Template = answer.Value.Body;
        return Page();
    }
}
