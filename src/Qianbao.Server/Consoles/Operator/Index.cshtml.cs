using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator</c>: the KPI dashboard, <c>GET /admin/v1/analytics/kpis?from=&amp;to=</c> (China dates, both inclusive;
/// the last 30 days by default). The dates go to the API as typed, so a bad range shows the API's refusal.
/// </summary>
public sealed class OperatorDashboardModel : OperatorPage
{
    [BindProperty(SupportsGet = true)]
    public string? From { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? To { get; set; }

    public JsonElement Kpis { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        To ??= ChinaToday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        From ??= ChinaToday.AddDays(-29).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var answer = await ReadAsync($"/admin/v1/analytics/kpis?from={Uri.EscapeDataString(From)}&to={Uri.EscapeDataString(To)}", ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Kpis = answer.Value.Body;
        return Page();
    }
}
