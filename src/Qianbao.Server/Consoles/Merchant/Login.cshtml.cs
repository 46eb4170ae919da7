using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary><c>/merchant/login</c>: a staff member's e-mail, password and TOTP code, through <c>POST /merchant/v1/auth/token</c>.</summary>
public sealed class LoginModel : MerchantPage
{
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }

    [BindProperty] public string? Email { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(string? password, string? totp, CancellationToken ct)
    {
        var answer = await Api.PostAsync("/merchant/v1/auth/token",
            new { email = Email, password, totp = string.IsNullOrWhiteSpace(totp) ? null : totp.Trim() }, null, ct);
        if (!answer.Ok)
        {
            Failed(answer);
            return Page();
        }
        ConsoleSession.SignIn(HttpContext, ConsoleKind.Merchant, answer.Text("access_token"), TimeSpan.FromSeconds(answer.Number("expires_in")));
        return LocalRedirect(SafeReturnUrl(ReturnUrl));
    }
}
