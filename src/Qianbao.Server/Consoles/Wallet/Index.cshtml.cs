using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary><c>/wallet</c>: the balance (<c>GET /v1/wallet</c>), the account (<c>GET /v1/me</c>), unread messages and the latest transactions.</summary>
public sealed class IndexModel : WalletPage
{
    public JsonElement Me { get; private set; }
    public IReadOnlyList<JsonElement> Balances { get; private set; } = [];
    public IReadOnlyList<JsonElement> Recent { get; private set; } = [];
    public long Unread { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var (wallet, gone) = await LoadAsync("/v1/wallet", ct);
        if (gone is not null) return gone;
        var me = await Api.GetAsync("/v1/me", Token, ct);
        var recent = await Api.GetAsync("/v1/transactions?limit=5", Token, ct);
        var unread = await Api.GetAsync("/v1/notifications/unread-count", Token, ct);
        Balances = [.. wallet.Items("balances")];
        Me = me.Body;
        Recent = [.. recent.Items()];
        Unread = unread.Ok ? unread.Number("unread") : 0;
        return Page();
    }

    public long Available => Balances.Where(b => Field(b, "currency") == "CNY").Select(b => Number(b, "available")).FirstOrDefault();

    public long PendingIn => Balances.Where(b => Field(b, "currency") == "CNY").Select(b => Number(b, "pending_in")).FirstOrDefault();
}
