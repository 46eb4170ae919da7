using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>
/// <c>PUT /merchant/v1/apps/{app_id}/notify-url {notify_url}</c> → <c>{app_id, notify_url}</c>: the app's default notify URL
/// (a trade's own <c>notify_url</c> still wins). Absolute http(s), at most 512 characters and, while
/// <c>Qianbao:Gateway:AllowPrivateNotifyUrls</c> is false, resolving to public addresses only: else 400 <c>invalid_notify_url</c>.
/// Admin only; another merchant's app is 404. Notifications queued from then on go to the new URL; a replayed delivery goes
/// there too (see the notify deliveries' replay).
/// </summary>
internal static class SetAppNotifyUrl
{
    public sealed record Request(string? NotifyUrl);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPut("/merchant/v1/apps/{app_id}/notify-url", HandleAsync).RequireMerchant().WithTags("Merchant");

    private static async Task<IResult> HandleAsync(string app_id, HttpContext http, MerchantApps apps, NotifyUrlPolicy notifyUrls, CancellationToken ct)
    {
        var merchantId = http.Merchant().MerchantId;
        var (r, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (r!.NotifyUrl is not { } url || !NotifyUrls.IsValid(url))
            return ApiProblem.BadRequest(ErrorCodes.InvalidNotifyUrl, $"notify_url must be an absolute http(s) URL of at most {NotifyUrls.LengthMax} characters.");
        // Ownership first, so another merchant's app id answers 404 whatever the URL, and no name lookup is made for it.
        if (!await apps.IsOwnAsync(merchantId, app_id, ct)) return ApiProblem.NotFound();
        if (!await notifyUrls.IsAcceptableAsync(url, ct))
            return ApiProblem.BadRequest(ErrorCodes.InvalidNotifyUrl, "notify_url must resolve to public addresses only (Qianbao:Gateway:AllowPrivateNotifyUrls is false).");
        if (!await apps.SetNotifyUrlAsync(merchantId, app_id, url, ct)) return ApiProblem.NotFound();
        return Results.Json(new { app_id, notify_url = url }, JsonDefaults.Options);
    }
}
