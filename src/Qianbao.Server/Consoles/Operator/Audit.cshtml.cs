using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/audit?actor=&amp;target=&amp;cursor=</c>: the audit log (<c>GET /admin/v1/audit</c>), newest first, and its
/// verification on request (<c>?verify=1</c>: <c>GET /admin/v1/audit/verify</c> recomputes the hash chain).
/// </summary>
public sealed class OperatorAuditModel : OperatorPage
{
    [BindProperty(SupportsGet = true)]
    public string? Actor { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Target { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Cursor { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Verify { get; set; }

    public IReadOnlyList<JsonElement> Entries { get; private set; } = [];

    public string? NextCursor { get; private set; }

    public JsonElement Verification { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (Verify == "1")
        {
            var verified = await ReadAsync("/admin/v1/audit/verify", ct);
            if (verified is null) return SessionEnded ? ToLogin() : Page();
            Verification = verified.Value.Body;
        }
        var query = new List<string> { "limit=50" };
        if (!string.IsNullOrWhiteSpace(Actor)) query.Add("actor=" + Uri.EscapeDataString(Actor.Trim()));
        if (!string.IsNullOrWhiteSpace(Target)) query.Add("target=" + Uri.EscapeDataString(Target.Trim()));
        if (!string.IsNullOrEmpty(Cursor)) query.Add("cursor=" + Uri.EscapeDataString(Cursor));
        var answer = await ReadAsync("/admin/v1/audit?" + string.Join('&', query), ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Entries = answer.Value.Items().ToList();
        NextCursor = answer.Value.Text("next_cursor") is { Length: > 0 } next ? next : null;
        return Page();
    }

    public string NextLink =>
        $"/operator/audit?actor={Uri.EscapeDataString(Actor ?? "")}&target={Uri.EscapeDataString(Target ?? "")}&cursor={Uri.EscapeDataString(NextCursor ?? "")}";
}
