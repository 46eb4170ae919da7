using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/signup</c>: a shop signs itself up (<c>POST /merchant/v1/signup</c>), after proving its phone with an SMS code of
/// purpose <c>merchant_signup</c> (<c>POST /v1/verifications</c>). The answer's TOTP enrolment is shown once, as a QR image for
/// an authenticator app and as the <c>otpauth://</c> URI and secret; the shop then waits for an operator's review.
/// </summary>
public sealed class SignupModel : MerchantPage
{
    [BindProperty] public string? CompanyName { get; set; }
    [BindProperty] public string? CreditCode { get; set; }
    [BindProperty] public string? LegalPersonName { get; set; }
    [BindProperty] public string? LegalPersonIdNumber { get; set; }
    [BindProperty] public string? ContactPhone { get; set; }
    [BindProperty] public string? Email { get; set; }
    [BindProperty] public string? Password { get; set; }
    [BindProperty] public string? VerificationId { get; set; }
    [BindProperty] public string? Code { get; set; }

    /// <summary>The signup's answer, once the API accepted it.</summary>
    public SignupCreated? Created { get; private set; }

    public sealed record SignupCreated(string MerchantId, string Status, string TotpSecret, string OtpauthUri, string OtpauthPngBase64);

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostSendCodeAsync(CancellationToken ct)
    {
        var answer = await Api.PostAsync("/v1/verifications", new { phone = ContactPhone, purpose = "merchant_signup" }, null, ct);
        if (!answer.Ok)
        {
            Failed(answer);
            return Page();
        }
        VerificationId = answer.Text("verification_id");
        DoneMessage = T("merchant.signup.codesent");
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var answer = await Api.PostAsync("/merchant/v1/signup", new
        {
            company_name = CompanyName, credit_code = CreditCode, legal_person_name = LegalPersonName, legal_person_id_number = LegalPersonIdNumber,
            contact_phone = ContactPhone, email = Email, password = Password,
            verification_id = string.IsNullOrEmpty(VerificationId) ? null : VerificationId, code = string.IsNullOrWhiteSpace(Code) ? null : Code.Trim(),
        }, null, ct);
        if (!answer.Ok)
        {
            Failed(answer);
            return Page();
        }
        var uri = answer.Text("otpauth_uri");
        Created = new SignupCreated(answer.Text("merchant_id"), answer.Text("status"), answer.Text("totp_secret"), uri, MerchantFormat.QrPngBase64(uri));
        return Page();
    }
}
