using System.Security.Cryptography;
using Dapper;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>
/// <c>POST /admin/v1/merchants/{id}/apps</c> <c>{app_public_key_pem, notify_url?}</c> → 201
/// <c>{app_id, platform_public_key_pem, platform_key_id}</c>. The app's RSA public key (2048-4096 bits)
/// verifies its gateway requests; the platform key signs our responses and notifications.
/// </summary>
internal static class CreateMerchantApp
{
    public sealed record Request(string? AppPublicKeyPem, string? NotifyUrl);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/merchants/{id}/apps", HandleAsync).RequireOperator().WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, Db db, PlatformKeyRing keys, TimeProvider clock,
        Modules.Merchants.NotifyUrlPolicy notifyUrls, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var merchantId)) return ApiProblem.NotFound();
        var (r, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!AlipayKeys.TryImportPublicKey(r!.AppPublicKeyPem, out var key))
            return ApiProblem.BadRequest("invalid_public_key", "app_public_key_pem must be an RSA public key of 2048-4096 bits (PEM or base64).");
        key.Dispose();
        if (r.NotifyUrl is not null && !NotifyUrls.IsValid(r.NotifyUrl))
            return ApiProblem.BadRequest("invalid_notify_url", "notify_url must be an absolute http(s) URL of at most 512 characters.");
        if (r.NotifyUrl is not null && !await notifyUrls.IsAcceptableAsync(r.NotifyUrl, ct))
            return ApiProblem.BadRequest("invalid_notify_url", "notify_url must resolve to public addresses only (Qianbao:Gateway:AllowPrivateNotifyUrls is false).");

        // Alipay app ids are 16 digits; ours keep that shape so SDK-side validation never trips on them.
        var appId = "2026" + RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6") + RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6");
        await using var connection = await db.OpenAsync(ct);
        var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM merchants WHERE id = @id", new { id = merchantId }, cancellationToken: ct));
        if (exists == 0) return ApiProblem.NotFound();
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO merchant_apps (app_id, merchant_id, public_key_pem, notify_url, status, created_at_us)
            VALUES (@appId, @merchantId, @pem, @notify, 'active', @now)
            """, new { appId, merchantId, pem = r.AppPublicKeyPem, notify = r.NotifyUrl, now = clock.GetUnixMicroseconds() }, cancellationToken: ct));
        return Results.Json(new
        {
            app_id = appId,
            platform_public_key_pem = AlipayKeys.ExportPublicKeyPem(keys.Current.PrivateKey),
            // The bare base64 form is what Alipay SDKs take as alipayPublicKey.
            platform_public_key = keys.Current.PublicKeyBase64,
            platform_key_id = keys.Current.KeyId,
        }, JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    }
}

internal static class NotifyUrls
{
    public const int LengthMax = 512;

    public static bool IsValid(string url) =>
        url.Length <= LengthMax && Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps);
}
