using System.Text.Json;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>
/// <c>POST /v1/notifications/{id}/action</c> → 200 <c>{result, ...}</c>: performs the notification's action and records a
/// click (and a read). <c>claim_coupon</c> claims through Marketing's <see cref="Coupons.ClaimAsync"/> with an idempotency
/// key derived from the notification, so however often it is called one coupon is claimed and every call answers it:
/// <c>{result:"claimed", coupon_id}</c>, or the refusal's code as the result (<c>campaign_not_active</c>, <c>out_of_stock</c>,
/// <c>coupon_limit_reached</c>, <c>not_found</c>). <c>open_url</c> answers <c>{result:"open_url", url}</c>. Another person's
/// notification is 404; one without an action 422 <c>notification_has_no_action</c>.
/// </summary>
internal static class NotificationActionApi
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/v1/notifications/{id}/action", HandleAsync).RequireUser().WithTags("Notifications");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, Db db, Coupons coupons, TimeProvider clock, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var notificationId)) return ApiProblem.NotFound("No such notification.");
        var userId = http.UserId();
        var nowUs = clock.GetUnixMicroseconds();
        string? actionJson;
        await using (var connection = await db.OpenAsync(ct))
        {
            var row = await connection.QuerySingleOrDefaultAsync<(Guid Id, string? Action)?>(new CommandDefinition($"""
                UPDATE notifications SET clicked_at_us = COALESCE(clicked_at_us, @nowUs), read_at_us = COALESCE(read_at_us, @nowUs)
                WHERE id = @notificationId AND user_id = @userId AND {NotificationInbox.Visible}
                RETURNING id, action
                """, new { notificationId, userId, nowUs }, cancellationToken: ct));
            if (row is not { } r) return ApiProblem.NotFound("No such notification.");
            actionJson = r.Action;
        }
        var action = actionJson is null ? null : JsonSerializer.Deserialize<NotificationAction>(actionJson, JsonDefaults.Options);
        switch (action)
        {
            case { Type: "claim_coupon", CampaignId: { } campaignId }:
                var (outcome, coupon) = await coupons.ClaimAsync(userId, campaignId, "notification:" + notificationId.ToString("N"), ct);
                return outcome switch
                {
                    ClaimOutcome.Claimed or ClaimOutcome.Replayed => Results.Json(new { result = "claimed", coupon_id = coupon!.id }, JsonDefaults.Options),
                    ClaimOutcome.NotActive => Result(ErrorCodes.CampaignNotActive),
                    ClaimOutcome.OutOfStock => Result(ErrorCodes.OutOfStock),
                    ClaimOutcome.LimitReached => Result(ErrorCodes.CouponLimitReached),
                    _ => Result("not_found"),
                };
            case { Type: "open_url", Url: { } url }:
                return Results.Json(new { result = "open_url", url }, JsonDefaults.Options);
            default:
                return ApiProblem.Unprocessable(ErrorCodes.NotificationHasNoAction, "This notification has no action.");
        }
    }

    private static IResult Result(string code) => Results.Json(new { result = code }, JsonDefaults.Options);
}
