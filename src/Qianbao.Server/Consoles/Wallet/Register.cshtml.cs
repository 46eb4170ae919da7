using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/register</c>: a code sent to the phone (<c>POST /v1/verifications</c>, purpose <c>register</c>), then
/// <c>POST /v1/users</c> with this browser's device id (so its first login needs no second code) and the login. With
/// the server's relaxed switch the API asks no code, and the field may stay empty.
/// </summary>
public sealed class RegisterModel : WalletPage
{
    [BindProperty] public string? Phone { get; set; }
    [BindProperty] public string? Name { get; set; }
    [BindProperty] public string? Password { get; set; }
    [BindProperty] public string? VerificationId { get; set; }
    [BindProperty] public string? Code { get; set; }

    public bool CodeSent { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostSendCodeAsync(CancellationToken ct)
    {
        var answer = await Api.PostAsync("/v1/verifications", new { phone = Phone, purpose = "register" }, null, ct);
        if (!answer.Ok)
        {
            Failed(answer);
            return Page();
        }
        VerificationId = answer.Text("verification_id");
        CodeSent = true;
        DoneMessage = T("wallet.register.sent");
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var device = ConsoleSession.DeviceId(HttpContext);
        var created = await Api.PostAsync("/v1/users", new
        {
            phone = Phone, name = Name, password = Password, device_id = device,
            verification_id = string.IsNullOrEmpty(VerificationId) ? null : VerificationId, code = string.IsNullOrEmpty(Code) ? null : Code.Trim(),
        }, null, ct);
        if (!created.Ok)
        {
            Failed(created);
            CodeSent = !string.IsNullOrEmpty(VerificationId);
            return Page();
        }
        var token = await Api.PostAsync("/v1/auth/token", new { phone = Phone, password = Password, device_id = device }, null, ct);
        if (!token.Ok)
        {
            // Registered, but the login needs more (say, another code): the login page asks for it.
            return Redirect("/wallet/login");
        }
        LoginModel.SignIn(HttpContext, token);
        return Redirect("/wallet?welcome=1");
    }
}
