using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary><c>/wallet/complaints</c>: one's complaints (<c>GET /v1/complaints</c>) and filing one (<c>POST /v1/complaints</c>).</summary>
public sealed class ComplaintsModel : WalletPage
{
    public static readonly string[] Categories = ["unauthorised", "not_received", "wrong_amount", "merchant_service", "other"];

    [BindProperty] public string? TradeNo { get; set; }
    [BindProperty] public string? Category { get; set; }
    [BindProperty] public string? Text { get; set; }

    public IReadOnlyList<JsonElement> Items { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(CancellationToken ct) => SignedOut() ?? await LoadPageAsync(ct) ?? Page();

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/v1/complaints", new
        {
            trade_no = string.IsNullOrWhiteSpace(TradeNo) ? null : TradeNo.Trim(), category = Category, text = Text,
        }, Token, ct);
        if (answer.Ok)
        {
            DoneMessage = T("wallet.complaints.filed");
            TradeNo = Text = null;
        }
        else if (Failed(answer)) return Redirect("/wallet/login");
        return await LoadPageAsync(ct) ?? Page();
    }

    private async Task<IActionResult?> LoadPageAsync(CancellationToken ct)
    {
        var (list, gone) = await LoadAsync("/v1/complaints", ct);
        if (gone is not null) return gone;
        Items = [.. list.Items()];
        return null;
    }
}
