using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>
/// <c>GET /merchant/v1/collection-code</c> → <c>{code, qr_text, qr_png_base64}</c>: the shop's static collection code, the QR code's
/// text and its image (PNG) to show or print; <c>?format=png</c> answers the image itself (<c>image/png</c>). Only a verified
/// merchant has one: before, 409 <c>not_verified</c>. Every staff role may read it.
/// </summary>
internal static class GetCollectionCode
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/merchant/v1/collection-code", HandleAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");

    private static async Task<IResult> HandleAsync(HttpContext http, CollectionCodes codes, CancellationToken ct)
    {
        var format = http.Request.Query["format"].ToString();
        if (format is not ("" or "json" or "png")) return ApiProblem.BadRequest(ErrorCodes.InvalidFormat, "format must be json or png.");
        var code = await codes.EnsureAsync(http.Merchant().MerchantId, ct);
        if (code is null) return ApiProblem.Conflict(ErrorCodes.NotVerified, "The merchant is not verified yet: only verified merchants take payments.");
        var text = CollectionCodes.QrText(code);
        var png = CollectionCodes.Png(text);
        return format == "png"
            ? Results.File(png, "image/png")
            : Results.Json(new { code, qr_text = text, qr_png_base64 = Convert.ToBase64String(png) }, JsonDefaults.Options);
    }
}
