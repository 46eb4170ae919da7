using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/preferences</c>: <c>GET/PUT /v1/me/notification-preferences</c> (which channels each category uses, quiet
/// hours, time zone, language; PUT takes the whole document, built here from the form's switches) and the marketing
/// consents those switches recorded (<c>GET /v1/me/consents</c>). Security alerts are always on (the API says so).
/// </summary>
public sealed class PreferencesModel : WalletPage
{
    public static readonly string[] CategoryNames = ["security", "transaction", "marketing", "service"];
    public static readonly string[] ChannelNames = ["in_app", "sms", "email"];

    /// <summary>The switches that are on, as <c>category.channel</c>.</summary>
    [BindProperty] public List<string> On { get; set; } = [];
    [BindProperty] public bool QuietEnabled { get; set; }
    [BindProperty] public string? QuietStart { get; set; }
    [BindProperty] public string? QuietEnd { get; set; }
    [BindProperty] public string? TimeZone { get; set; }
    [BindProperty] public string? Locale { get; set; }

    public IReadOnlyList<JsonElement> Consents { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(CancellationToken ct) => SignedOut() ?? await LoadPageAsync(ct) ?? Page();

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var categories = CategoryNames.ToDictionary(c => c, c => new
        {
            in_app = c == "security" || On.Contains(c + ".in_app"), sms = c == "security" || On.Contains(c + ".sms"),
            email = c == "security" || On.Contains(c + ".email"),
        });
        var answer = await Api.PutAsync("/v1/me/notification-preferences", new
        {
            categories, quiet_hours = new { enabled = QuietEnabled, start = QuietStart, end = QuietEnd }, time_zone = TimeZone, locale = Locale,
        }, Token, ct);
        if (answer.Ok)
        {
            DoneMessage = T("wallet.preferences.saved");
            return await LoadPageAsync(ct) ?? Page();
        }
        if (Failed(answer)) return Redirect("/wallet/login");
        var (code, message) = (ErrorCode, ErrorMessage);
        var redirect = await LoadPageAsync(ct);
        (ErrorCode, ErrorMessage) = (code, message);
        return redirect ?? Page();
    }

    private async Task<IActionResult?> LoadPageAsync(CancellationToken ct)
    {
        var (prefs, gone) = await LoadAsync("/v1/me/notification-preferences", ct);
        if (gone is not null) return gone;
        On = [];
        if (prefs.Body.TryGetProperty("categories", out var categories))
            foreach (var category in CategoryNames)
                if (categories.TryGetProperty(category, out var switches))
                    foreach (var channel in ChannelNames)
                        if (Flag(switches, channel)) On.Add(category + "." + channel);
        if (prefs.Body.TryGetProperty("quiet_hours", out var quiet))
        {
            QuietEnabled = Flag(quiet, "enabled");
            QuietStart = Field(quiet, "start");
            QuietEnd = Field(quiet, "end");
        }
        TimeZone = prefs.Text("time_zone");
        Locale = prefs.Text("locale");
        var consents = await Api.GetAsync("/v1/me/consents", Token, ct);
        Consents = [.. consents.Items()];
        return null;
    }
}
