using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/paycode</c>: the payment code a merchant scans (<c>POST /v1/payment-codes</c>: 18 digits, single use, 60 s)
/// as a barcode and a QR code in one picture (<c>/wallet/paycode/image</c>) that the page reloads every 30 s. The API asks
/// the PIN for every code, so after the person typed it once the PIN is kept for <see cref="ShowFor"/> only, encrypted
/// and time-limited by the server's data-protection keys, in an HttpOnly cookie of this page's path; then the code stops
/// refreshing and the PIN is asked again.
/// </summary>
public sealed class PayCodeModel : WalletPage
{
    public static readonly TimeSpan ShowFor = TimeSpan.FromMinutes(5);
    public const int RefreshMs = 30_000;
    private const string Cookie = "qb_paycode";
    private const string Purpose = "Qianbao.Consoles.Wallet.PaymentCodePin";

    [BindProperty] public string? Pin { get; set; }

    /// <summary>Whether the code is shown (the PIN was accepted).</summary>
    public bool Showing { get; private set; }

    public IActionResult OnGet() => SignedOut() ?? Page();

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        // The first code checks the PIN (and the identity the API asks); the picture asks for its own codes.
        var answer = await Api.PostAsync("/v1/payment-codes", null, Token, ct, MoneyHeaders(Pin, null));
        if (!answer.Ok)
        {
            Pin = null;
            return await RefusedAsync(answer, ct) ?? Page();
        }
        Response.Cookies.Append(Cookie, Protector().Protect(Pin!, ShowFor), new CookieOptions
        {
            Path = "/wallet/paycode", HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = Request.IsHttps, MaxAge = ShowFor,
        });
        Pin = null;
        Showing = true;
        return Page();
    }

    /// <summary><c>/wallet/paycode/image</c>: a fresh code as a PNG, or 404 once the kept PIN has run out (the page asks again).</summary>
    public async Task<IActionResult> OnGetImageAsync(CancellationToken ct)
    {
        if (Token is null) return Unauthorized();
        string pin;
        try
        {
            pin = Request.Cookies[Cookie] is { Length: > 0 } kept ? Protector().Unprotect(kept) : "";
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            pin = "";
        }
        if (pin.Length == 0) return NotFound();
        var answer = await Api.PostAsync("/v1/payment-codes", null, Token, ct, MoneyHeaders(pin, null));
        if (!answer.Ok) return StatusCode(answer.Status is >= 400 and < 500 ? answer.Status : StatusCodes.Status503ServiceUnavailable);
        return File(QrImages.PaymentCodePng(answer.Text("code")), "image/png");
    }

    public IActionResult OnPostStop()
    {
        Response.Cookies.Delete(Cookie, new CookieOptions { Path = "/wallet/paycode" });
        return Redirect("/wallet/paycode");
    }

    // Bound to this sign-in as well: the kept PIN opens only with the token it was typed under (a copied cookie is no use
    // to another session, and signing out ends it).
    private ITimeLimitedDataProtector Protector() =>
        HttpContext.RequestServices.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose)
            .CreateProtector(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Token ?? ""))))
            .ToTimeLimitedDataProtector();
}
