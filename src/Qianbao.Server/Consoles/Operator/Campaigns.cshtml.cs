using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/campaigns</c>: marketing campaigns and their budgets (<c>GET /admin/v1/campaigns</c>: amount = spent +
/// remaining), and stopping one (<c>POST /admin/v1/campaigns/{id}/stop</c>, finance: what is left returns to its funder).
/// </summary>
public sealed class OperatorCampaignsModel : OperatorPage
{
    public IReadOnlyList<JsonElement> Campaigns { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        ShowDone();
        return await ShowAsync(ct);
    }

    public async Task<IActionResult> OnPostStopAsync(string? campaignId, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/admin/v1/campaigns/" + Uri.EscapeDataString(campaignId ?? "") + "/stop", null, Token, ct);
        if (answer.Ok) return Done("/operator/campaigns");
        if (Refused(answer) is { } gone) return gone;
        var (code, message) = (ErrorCode, ErrorMessage);
        var shown = await ShowAsync(ct);
        (ErrorCode, ErrorMessage) = (code, message);
        return shown;
    }

    private async Task<IActionResult> ShowAsync(CancellationToken ct)
    {
        var answer = await ReadAsync("/admin/v1/campaigns", ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Campaigns = answer.Value.Items().ToList();
        return Page();
    }
}
