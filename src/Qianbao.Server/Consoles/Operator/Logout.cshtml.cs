using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/logout</c>: a button (a POST, so a link elsewhere cannot sign an operator out) that forgets the console's
/// credential. Operator access tokens are short-lived and the API has no revocation of one token; disabling the operator
/// revokes them all.
/// </summary>
public sealed class OperatorLogoutModel : OperatorPage
{
    public void OnGet()
    {
    }

    public IActionResult OnPost()
    {
        ConsoleSession.SignOut(HttpContext, ConsoleKind.Operator);
        return Redirect("/operator/login");
    }
}
