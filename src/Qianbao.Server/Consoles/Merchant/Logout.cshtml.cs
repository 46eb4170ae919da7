using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/logout</c>: forgets the console's token (a POST, so no other site can sign the shop out). Merchant tokens are
/// stateless and short-lived; the API has no revocation for one, so the cookie goes and the token expires on its own.
/// </summary>
public sealed class LogoutModel : MerchantPage
{
    public IActionResult OnGet() => Token is null ? Redirect("/merchant/login") : Page();

    public IActionResult OnPost()
    {
        ConsoleSession.SignOut(HttpContext, ConsoleKind.Merchant);
        return Redirect("/merchant/login");
    }
}
