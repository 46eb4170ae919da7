using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// <c>GET /admin/v1/platform-keys</c> → the current platform signing key (id and public key);
/// <c>POST /admin/v1/platform-keys/rotate</c> → a new key becomes current: gateway responses and notifications
/// are signed with it from now on, and merchants must be given the new public key. Old keys stay on disk.
/// Other server processes sharing the key directory pick the new key up when they restart.
/// </summary>
internal static class RotatePlatformKey
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/v1/platform-keys", (PlatformKeyRing keys) => Describe(keys.Current)).RequireOperator().WithTags("Operator");
        app.MapPost("/admin/v1/platform-keys/rotate", (PlatformKeyRing keys) => Describe(keys.Rotate())).RequireOperator().WithTags("Operator");
    }

    private static IResult Describe(PlatformKey key) => Results.Json(new
    {
        platform_key_id = key.KeyId,
        platform_public_key = key.PublicKeyBase64,
        platform_public_key_pem = AlipayKeys.ExportPublicKeyPem(key.PrivateKey),
    }, JsonDefaults.Options);
}
