using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary><c>/wallet/identity</c>: the real-name identity (<c>POST /v1/me/identity {name, id_number}</c>) and the tier it gives.</summary>
public sealed class IdentityModel : WalletPage
{
    [BindProperty] public string? RealName { get; set; }
    [BindProperty] public string? IdNumber { get; set; }

    public string? Tier { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var (me, gone) = await LoadAsync("/v1/me", ct);
        if (gone is not null) return gone;
        Tier = me.Text("tier");
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/v1/me/identity", new { name = RealName, id_number = IdNumber?.Trim() }, Token, ct);
        if (!answer.Ok) return Failed(answer) ? Redirect("/wallet/login") : Page();
        Tier = answer.Text("tier");
        DoneMessage = answer.Text("status") == "under_review" ? T("wallet.identity.review") : T("wallet.identity.done");
        return Page();
    }
}
