using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/pay</c>: pay a merchant's QR code, pasted as text or uploaded as a photo (decoded here, <see cref="QrImages"/>).
/// The preview is the API's (<c>POST /v1/qr-codes/resolve</c>: merchant, amount, the discount a payment now would take,
/// what the person would pay); paying is <c>POST /v1/qr-payments</c> with the PIN, the form's Idempotency-Key and, when the
/// person has coupons, the one chosen (<c>coupon_id</c>: left empty the API uses the best, as the preview shows; or "none").
/// </summary>
[RequestSizeLimit(QrImages.UploadBytesMax + 64 * 1024)]
[RequestFormLimits(MultipartBodyLengthLimit = QrImages.UploadBytesMax + 64 * 1024)]
public sealed class PayModel : WalletPage
{
    [BindProperty] public string? QrText { get; set; }
    [BindProperty] public IFormFile? Photo { get; set; }
    [BindProperty] public string? Pin { get; set; }

    /// <summary>The coupon to use: empty for the API's choice (the best, as the preview shows), <c>none</c>, or a coupon's id.</summary>
    [BindProperty] public string? CouponId { get; set; }
    [BindProperty] public string? IdempotencyKey { get; set; }

    /// <summary>The API's preview of the trade, once resolved.</summary>
    public JsonElement? Preview { get; private set; }

    /// <summary>The person's available coupons (<c>GET /v1/coupons?status=available</c>), to choose one other than the best.</summary>
    public IReadOnlyList<JsonElement> Coupons { get; private set; } = [];

    /// <summary>The API's answer to the payment, once paid.</summary>
    public JsonElement? Paid { get; private set; }

    public IActionResult OnGet() => SignedOut() ?? Page();

    public async Task<IActionResult> OnPostPreviewAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (Photo is { Length: > 0 } photo)
        {
            if (photo.Length > QrImages.UploadBytesMax) return Refuse("qr_image_too_large", "wallet.pay.toolarge");
            await using var stream = photo.OpenReadStream();
            QrText = QrImages.Decode(stream);
            if (QrText is null) return Refuse("qr_not_found", "wallet.pay.noqr");
        }
        if (string.IsNullOrWhiteSpace(QrText)) return Refuse("qr_not_found", "wallet.pay.noqr");
        QrText = QrText.Trim();
        return await ResolveAsync(ct) ?? Page();
    }

    public async Task<IActionResult> OnPostPayAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/v1/qr-payments", new { qr_code = QrText, coupon_id = string.IsNullOrEmpty(CouponId) ? null : CouponId }, Token, ct, MoneyHeaders(Pin, IdempotencyKey));
        Pin = null;
        if (answer.Ok)
        {
            Paid = answer.Body;
            DoneMessage = T("wallet.pay.done") + " " + Money(answer.Number("pay_amount"), answer.Text("currency"));
            return Page();
        }
        if (await RefusedAsync(answer, ct) is { } gone) return gone;
        // Show the trade again beside the refusal, so the person can retry (another PIN) or leave.
        var code = ErrorCode;
        var message = ErrorMessage;
        var redirect = await ResolveAsync(ct);
        (ErrorCode, ErrorMessage) = (code, message);
        return redirect ?? Page();
    }

    private async Task<IActionResult?> ResolveAsync(CancellationToken ct)
    {
        var answer = await Api.PostAsync("/v1/qr-codes/resolve", new { qr_code = QrText }, Token, ct);
        if (answer.Ok)
        {
            Preview = answer.Body;
            // Which of them fits this order is the API's to say (the preview's discount, or coupon_not_usable on paying).
            Coupons = [.. (await Api.GetAsync("/v1/coupons?status=available", Token, ct)).Items()];
            return null;
        }
        return Failed(answer) ? Redirect("/wallet/login") : null;
    }

    /// <summary>A refusal of the console's own (the picture), shown like the API's.</summary>
    private IActionResult Refuse(string code, string textKey)
    {
        ErrorCode = code;
        ErrorMessage = T(textKey);
        return Page();
    }
}
