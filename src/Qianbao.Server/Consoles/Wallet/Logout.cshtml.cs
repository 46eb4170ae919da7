using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary><c>POST /wallet/logout</c>: ends the API session (<c>POST /v1/auth/logout</c>) and forgets the cookie.</summary>
public sealed class LogoutModel : WalletPage
{
    public IActionResult OnGet() => Redirect("/wallet/me");

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (Token is not null) await Api.PostAsync("/v1/auth/logout", null, Token, ct);
        ConsoleSession.SignOut(HttpContext, ConsoleKind.Wallet);
        return Redirect("/wallet/login");
    }
}
