using System.Globalization;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Merchants.Accounts;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// A merchant's followers (服务窗 fans) and its service messages to them, in the native merchant API.
/// <list type="bullet">
/// <item><c>GET /merchant/v1/followers?limit=&amp;cursor=</c> (every staff role) → <c>{count, items:[{user_id, user_name,
/// followed_at}], next_cursor}</c>: how many follow, and a page of them in a stable order (<c>limit</c> 1..100, 20;
/// <c>cursor</c> the previous page's <c>next_cursor</c>, null on the last page); names only masked.</item>
/// <item><c>POST /merchant/v1/followers/{user_id}/messages {title, body}</c> (admin) with an <c>Idempotency-Key</c> → 201
/// <c>{user_id, title, body}</c>: the same path as the gateway's <c>alipay.open.public.message.single.send</c>
/// (<see cref="ServiceMessages"/>): a <c>service</c> notification from the merchant, the person's preferences, quiet hours and
/// a spam block of the merchant apply (the merchant is not told which). The same key and message again → 200, nothing sent
/// twice; the key for another person or text → 422 <c>idempotency_key_reused</c>. Someone who does not follow the merchant
/// (or no such user) → 404, as any object that is not the merchant's.</item>
/// </list>
/// </summary>
internal static class MerchantFollowers
{
    public const int LimitDefault = 20;
    public const int LimitMax = 100;
    public const int TitleLengthMax = 64;
    public const int BodyLengthMax = 1000;

    /// <summary>The notification's variant for messages of the native API (the gateway's is the template id).</summary>
    public const string Variant = "merchant_api";

    public sealed record Request(string? Title, string? Body);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/merchant/v1/followers", ListAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");
        app.MapPost("/merchant/v1/followers/{user_id}/messages", SendAsync).RequireMerchant().WithTags("Merchant");
    }

    private static async Task<IResult> ListAsync(HttpContext http, MerchantFollows follows, UserDirectory users, CancellationToken ct)
    {
        var q = http.Request.Query;
        if (!PageLimit.TryRead(q["limit"], LimitDefault, LimitMax, out var limit, out var limitProblem)) return limitProblem;
        Guid? after = null;
        if (q["cursor"].ToString() is { Length: > 0 } c)
        {
            if (!Guid.TryParseExact(c, "N", out var a)) return ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "cursor must be a next_cursor this endpoint returned.");
            after = a;
        }
        var merchantId = http.Merchant().MerchantId;
        var rows = await follows.PageAsync(merchantId, after, limit + 1, ct);
        var page = rows.Take(limit).ToList();
        var names = await users.MaskedNamesAsync(page.Select(r => r.UserId).ToList(), ct);
        return Results.Json(new
        {
            count = await follows.CountAsync(merchantId, ct),
            items = page.Select(r => new
            {
                user_id = r.UserId, user_name = names.GetValueOrDefault(r.UserId) ?? "",
                followed_at = Hosting.TimeProviderExtensions.FromUnixMicroseconds(r.FollowedAtUs),
            }),
            next_cursor = rows.Count > limit ? page[^1].UserId.ToString("N") : null,
        }, JsonDefaults.Options);
    }

    private static async Task<IResult> SendAsync(string user_id, HttpContext http, ServiceMessages messages, CancellationToken ct)
    {
        var key = http.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length == 0) return ApiProblem.BadRequest(ErrorCodes.IdempotencyKeyMissing, "Send an Idempotency-Key header (1-255 printable ASCII characters).");
        if (key.Length > Money.Idempotency.KeyLengthMax || key.Any(ch => ch is < '!' or > '~'))
            return ApiProblem.BadRequest(ErrorCodes.IdempotencyKeyInvalid, "The Idempotency-Key must be 1-255 printable ASCII characters.");
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (Clean(request!.Title, TitleLengthMax, lineBreaks: false) is not { } title)
            return ApiProblem.BadRequest(ErrorCodes.InvalidMessage, $"title must be 1-{TitleLengthMax} characters on one line.");
        if (Clean(request.Body, BodyLengthMax, lineBreaks: true) is not { } body)
            return ApiProblem.BadRequest(ErrorCodes.InvalidMessage, $"body must be 1-{BodyLengthMax} characters.");
        if (!Guid.TryParse(user_id, out var userId)) return ApiProblem.NotFound();

        var merchantId = http.Merchant().MerchantId;
        var outcome = await messages.SendAsync(merchantId, userId, ServiceMessageKeys.IdempotencyDedupeKey(merchantId, key), title, body, Variant, null, ct);
        var answer = new { user_id = userId, title, body };
        return outcome switch
        {
            ServiceMessageOutcome.Sent => Results.Json(answer, JsonDefaults.Options, statusCode: StatusCodes.Status201Created),
            ServiceMessageOutcome.Repeat => Results.Json(answer, JsonDefaults.Options),
            ServiceMessageOutcome.KeyConflict => Money.Idempotency.KeyReused(),
            _ => ApiProblem.NotFound("No follower of this merchant has that id."),
        };
    }

    /// <summary>Trimmed text of 1..<paramref name="max"/> characters, without control characters (line breaks only where allowed).</summary>
    private static string? Clean(string? text, int max, bool lineBreaks)
    {
        var t = text?.Trim();
        return string.IsNullOrEmpty(t) || t.Length > max || t.Any(ch => char.IsControl(ch) && !(lineBreaks && ch is '\n' or '\r')) ? null : t;
    }
}
