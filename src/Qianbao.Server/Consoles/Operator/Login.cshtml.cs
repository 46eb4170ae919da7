using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/login</c>: an operator signs in with e-mail, password and a TOTP code (<c>POST /admin/v1/auth/token</c>);
/// the bootstrap owner with the operator key, which is itself a bearer credential of the owner role: it is checked by
/// calling an owner-only route with it (<c>GET /admin/v1/operators</c>) and kept as the console's token.
/// </summary>
public sealed class OperatorLoginModel : OperatorPage
{
    /// <summary>How long the console keeps the operator key (the key itself does not expire; the sign-in does).</summary>
    private static readonly TimeSpan KeySignInLifetime = TimeSpan.FromHours(8);

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    [BindProperty]
    public string? Email { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(string? password, string? totp, CancellationToken ct)
    {
        var answer = await Api.PostAsync("/admin/v1/auth/token", new { email = Email, password, totp }, null, ct);
        if (!answer.Ok)
        {
            Failed(answer);
            return Page();
        }
        ConsoleSession.SignIn(HttpContext, ConsoleKind.Operator, answer.Text("access_token"), TimeSpan.FromSeconds(Math.Max(60, answer.Number("expires_in"))));
        return Redirect(SafeReturnUrl(ReturnUrl));
    }

    public async Task<IActionResult> OnPostKeyAsync(string? key, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(key))
        {
            ErrorCode = "unauthorized";
            ErrorMessage = T("op.login.key.missing");
            return Page();
        }
        var answer = await Api.GetAsync("/admin/v1/operators", key.Trim(), ct);
        if (!answer.Ok)
        {
            Failed(answer);
            return Page();
        }
        ConsoleSession.SignIn(HttpContext, ConsoleKind.Operator, key.Trim(), KeySignInLifetime);
        return Redirect(SafeReturnUrl(ReturnUrl));
    }
}
