using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/login</c>: phone and password (<c>POST /v1/auth/token</c>) from this browser's device id. A device new to
/// the account is answered <c>device_verification_required</c> with a code sent by SMS: the form then asks for it and
/// sends the same request with the code.
/// </summary>
public sealed class LoginModel : WalletPage
{
    [BindProperty] public string? Phone { get; set; }
    [BindProperty] public string? Password { get; set; }
    [BindProperty] public string? VerificationId { get; set; }
    [BindProperty] public string? Code { get; set; }
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var answer = await Api.PostAsync("/v1/auth/token", new
        {
            phone = Phone, password = Password, device_id = ConsoleSession.DeviceId(HttpContext),
            verification_id = string.IsNullOrEmpty(VerificationId) ? null : VerificationId, code = string.IsNullOrEmpty(Code) ? null : Code.Trim(),
        }, null, ct);
        if (answer.Ok)
        {
            SignIn(HttpContext, answer);
            return Redirect(SafeReturnUrl(ReturnUrl));
        }
        Failed(answer);
        if (answer.ErrorCode == "device_verification_required")
        {
            VerificationId = answer.Text("verification_id");
            ErrorMessage = T("wallet.login.device");
        }
        Code = null;
        return Page();
    }

    /// <summary>Keeps the API's access token in the wallet's cookie for as long as the token lives.</summary>
    internal static void SignIn(HttpContext http, ApiAnswer token) =>
        ConsoleSession.SignIn(http, ConsoleKind.Wallet, token.Text("access_token"), TimeSpan.FromSeconds(Math.Max(60, token.Number("expires_in"))));
}
