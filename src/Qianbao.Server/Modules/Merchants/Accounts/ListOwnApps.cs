using System.Security.Cryptography;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>
/// <c>GET /merchant/v1/apps</c> → <c>{items:[{app_id, status, sign_type, notify_url, public_key_fingerprint, created_at}],
/// platform_public_key, platform_public_key_pem, platform_key_id}</c>: the merchant's own gateway apps, oldest first. The app's
/// public key is shown by its fingerprint (<c>SHA256:</c> and the hex SHA-256 of its SubjectPublicKeyInfo DER, as
/// <c>openssl pkey -pubin -outform DER | sha256sum</c> prints it), so staff can tell which key is registered; the platform key
/// is what the merchant's SDK verifies our answers and notifications with (the bare base64 form is the SDK's
/// <c>alipayPublicKey</c>). Every staff role may read it.
/// </summary>
internal static class ListOwnApps
{
    /// <summary>The only sign type an app's requests are verified with (RSA, SHA-1, is not enabled for any app).</summary>
    public const string SignType = "RSA2";

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/merchant/v1/apps", HandleAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");

    private static async Task<IResult> HandleAsync(HttpContext http, MerchantApps apps, PlatformKeyRing keys, CancellationToken ct)
    {
        var rows = await apps.ListAsync(http.Merchant().MerchantId, ct);
        var platform = keys.Current;
        return Results.Json(new
        {
            items = rows.Select(a => new
            {
                app_id = a.app_id, status = a.status, sign_type = SignType, notify_url = a.notify_url,
                public_key_fingerprint = Fingerprint(a.public_key_pem),
                created_at = TimeProviderExtensions.FromUnixMicroseconds(a.created_at_us),
            }),
            platform_public_key = platform.PublicKeyBase64,
            platform_public_key_pem = AlipayKeys.ExportPublicKeyPem(platform.PrivateKey),
            platform_key_id = platform.KeyId,
        }, JsonDefaults.Options);
    }

    /// <summary><c>SHA256:</c> + lower-case hex of the SHA-256 of the key's SubjectPublicKeyInfo DER; null for a stored key that no longer parses.</summary>
    public static string? Fingerprint(string publicKeyText)
    {
        if (!AlipayKeys.TryImportPublicKey(publicKeyText, out var key)) return null;
        using (key)
        {
            return "SHA256:" + Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
        }
    }
}
