using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/cases/{id}</c>: an AML case with all its hits and the evidence (<c>GET /admin/v1/risk/cases/{id}</c>), and
/// its resolution (<c>POST .../resolve {decision, note}</c>; what a decision does is the API's: <c>frozen</c> freezes the
/// subject, <c>cleared</c> completes a held verification).
/// </summary>
public sealed class OperatorCaseModel : OperatorPage
{
    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = "";

    public JsonElement Case { get; private set; }

    public static readonly string[] Decisions = ["cleared", "reported", "frozen"];

    private string ApiPath => "/admin/v1/risk/cases/" + Uri.EscapeDataString(Id);

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        ShowDone();
        return await ShowAsync(ct);
    }

    public async Task<IActionResult> OnPostResolveAsync(string? decision, string? note, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync(ApiPath + "/resolve", new { decision, note }, Token, ct);
        if (answer.Ok) return Done("/operator/cases/" + Uri.EscapeDataString(Id));
        if (Refused(answer) is { } gone) return gone;
        var (code, message) = (ErrorCode, ErrorMessage);
        var shown = await ShowAsync(ct);
        (ErrorCode, ErrorMessage) = (code, message);
        return shown;
    }

    private async Task<IActionResult> ShowAsync(CancellationToken ct)
    {
        var answer = await ReadAsync(ApiPath, ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Case = answer.Value.Body;
        return Page();
    }
}
