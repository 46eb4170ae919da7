using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary><c>/wallet/me</c>: the account (<c>GET /v1/me</c>) and the way to every other wallet page, and sign-out.</summary>
public sealed class MeModel : WalletPage
{
    public JsonElement Me { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var (me, gone) = await LoadAsync("/v1/me", ct);
        if (gone is not null) return gone;
        Me = me.Body;
        return Page();
    }
}
