using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>
/// <c>PUT /merchant/v1/apps/{app_id}/public-key {public_key}</c> → <c>{app_id, public_key_fingerprint}</c>: replaces the RSA public
/// key the gateway verifies the app's requests with (PEM, SubjectPublicKeyInfo or PKCS#1, or the bare base64 body; 2048-4096
/// bits, as when an operator creates the app): else 400 <c>invalid_public_key</c>. Admin only (whoever holds the key can sign
/// payments and refunds as the shop); another merchant's app is 404. Takes effect with the next gateway request.
/// </summary>
internal static class SetAppPublicKey
{
    public sealed record Request(string? PublicKey);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPut("/merchant/v1/apps/{app_id}/public-key", HandleAsync).RequireMerchant().WithTags("Merchant");

    private static async Task<IResult> HandleAsync(string app_id, HttpContext http, MerchantApps apps, CancellationToken ct)
    {
        var (r, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!AlipayKeys.TryImportPublicKey(r!.PublicKey, out var key))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPublicKey, "public_key must be an RSA public key of 2048-4096 bits (PEM or base64).");
        key.Dispose();
        if (!await apps.SetPublicKeyAsync(http.Merchant().MerchantId, app_id, r.PublicKey!, ct)) return ApiProblem.NotFound();
        return Results.Json(new { app_id, public_key_fingerprint = ListOwnApps.Fingerprint(r.PublicKey!) }, JsonDefaults.Options);
    }
}
