using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/messaging?id=</c>: a messaging campaign (<c>GET /admin/v1/messaging/campaigns/{id}</c>) and its A/B results
/// (<c>GET .../results</c>: per variant, the holdout, the p-values and the winner, all computed by the API). The API has
/// no list of messaging campaigns, so the page asks for the id.
/// </summary>
public sealed class OperatorMessagingModel : OperatorPage
{
    [BindProperty(SupportsGet = true)]
    public string? Id { get; set; }

    public JsonElement Campaign { get; private set; }

    public JsonElement Results { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (string.IsNullOrWhiteSpace(Id)) return Page();
        var path = "/admin/v1/messaging/campaigns/" + Uri.EscapeDataString(Id.Trim());
        var campaign = await ReadAsync(path, ct);
        if (campaign is null) return SessionEnded ? ToLogin() : Page();
        Campaign = campaign.Value.Body;
        var results = await ReadAsync(path + "/results", ct);
        if (results is null) return SessionEnded ? ToLogin() : Page();
        Results = results.Value.Body;
        return Page();
    }
}
