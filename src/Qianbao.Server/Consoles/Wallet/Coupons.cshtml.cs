using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/coupons</c>: the coupon campaigns one may still claim (<c>GET /v1/campaigns</c>), claiming one
/// (<c>POST /v1/coupons {campaign_id}</c> with the form's Idempotency-Key) and one's coupons (<c>GET /v1/coupons</c>).
/// A payment uses the best coupon by itself (the API decides) unless the pay page's choice names another or none.
/// </summary>
public sealed class CouponsModel : WalletPage
{
    [BindProperty] public string? CampaignId { get; set; }
    [BindProperty] public string? IdempotencyKey { get; set; }

    public IReadOnlyList<JsonElement> Campaigns { get; private set; } = [];
    public IReadOnlyList<JsonElement> Coupons { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(CancellationToken ct) => SignedOut() ?? await LoadPageAsync(ct) ?? Page();

    public async Task<IActionResult> OnPostClaimAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/v1/coupons", new { campaign_id = CampaignId }, Token, ct, MoneyHeaders(null, IdempotencyKey));
        if (answer.Ok) DoneMessage = T("wallet.coupons.claimed");
        else if (Failed(answer)) return Redirect("/wallet/login");
        return await LoadPageAsync(ct) ?? Page();
    }

    private async Task<IActionResult?> LoadPageAsync(CancellationToken ct)
    {
        var (campaigns, gone) = await LoadAsync("/v1/campaigns", ct);
        if (gone is not null) return gone;
        var coupons = await Api.GetAsync("/v1/coupons", Token, ct);
        Campaigns = [.. campaigns.Items()];
        Coupons = [.. coupons.Items()];
        return null;
    }
}
