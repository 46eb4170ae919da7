using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary><c>/wallet/pin</c>: a code to the account's phone (purpose <c>set_pin</c>), then <c>PUT /v1/me/payment-pin</c>.</summary>
public sealed class PinModel : WalletPage
{
    [BindProperty] public string? VerificationId { get; set; }
    [BindProperty] public string? Code { get; set; }
    [BindProperty] public string? NewPin { get; set; }

    public IActionResult OnGet() => SignedOut() ?? Page();

    public async Task<IActionResult> OnPostSendCodeAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/v1/verifications", new { purpose = "set_pin" }, Token, ct);
        if (!answer.Ok) return Failed(answer) ? Redirect("/wallet/login") : Page();
        VerificationId = answer.Text("verification_id");
        DoneMessage = T("wallet.pin.sent");
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PutAsync("/v1/me/payment-pin", new { pin = NewPin, verification_id = VerificationId, code = Code?.Trim() }, Token, ct);
        NewPin = null;
        Code = null;
        if (!answer.Ok) return Failed(answer) ? Redirect("/wallet/login") : Page();
        VerificationId = null;
        DoneMessage = T("wallet.pin.done");
        return Page();
    }
}
