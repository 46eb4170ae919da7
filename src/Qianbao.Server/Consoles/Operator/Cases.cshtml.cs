using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/cases?status=&amp;rule=&amp;cursor=</c>: AML cases (<c>GET /admin/v1/risk/cases</c>), newest first. With
/// <c>rule=watchlist</c> it is the identity review: real-name verifications and merchants a watchlist hit holds back
/// until their case is cleared.
/// </summary>
public sealed class OperatorCasesModel : OperatorPage
{
    [BindProperty(SupportsGet = true)]
    public string? Status { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Rule { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Cursor { get; set; }

    public IReadOnlyList<JsonElement> Cases { get; private set; } = [];

    public string? NextCursor { get; private set; }

    public static readonly string[] Rules = ["large_value", "structuring", "velocity", "pass_through", "dormant_active", "watchlist"];

    public static readonly string[] Statuses = ["open", "assigned", "resolved"];

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var query = new List<string> { "limit=50" };
        if (!string.IsNullOrEmpty(Status)) query.Add("status=" + Uri.EscapeDataString(Status));
        if (!string.IsNullOrEmpty(Rule)) query.Add("rule=" + Uri.EscapeDataString(Rule));
        if (!string.IsNullOrEmpty(Cursor)) query.Add("cursor=" + Uri.EscapeDataString(Cursor));
        var answer = await ReadAsync("/admin/v1/risk/cases?" + string.Join('&', query), ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Cases = answer.Value.Items().ToList();
        NextCursor = answer.Value.Text("next_cursor") is { Length: > 0 } next ? next : null;
        return Page();
    }

    public string NextLink => $"/operator/cases?status={Uri.EscapeDataString(Status ?? "")}&rule={Uri.EscapeDataString(Rule ?? "")}&cursor={Uri.EscapeDataString(NextCursor ?? "")}";
}
