using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/collection-code</c>: the shop's static collection code (收款码, <c>GET /merchant/v1/collection-code</c>) as a QR
/// image to show at the till or print (the print style sheet leaves only the code and the shop's name). Before approval the
/// API's 409 <c>not_verified</c> is shown.
/// </summary>
public sealed class CollectionCodeModel : MerchantPage
{
    public sealed record CodeView(string Code, string QrText, string PngBase64);

    public CodeView? Code { get; private set; }

    public string ShopName { get; private set; } = "";

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var (answer, relogin) = await GetOrLoginAsync("/merchant/v1/collection-code", ct);
        if (relogin is not null) return relogin;
        if (!answer.Ok) return Page();
        Code = new CodeView(answer.Text("code"), answer.Text("qr_text"), answer.Text("qr_png_base64"));
        var me = await Api.GetAsync("/merchant/v1/me", Token, ct);
        ShopName = me.Ok ? me.Text("name") : "";
        return Page();
    }
}
