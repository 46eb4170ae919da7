using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// <c>POST /v1/notifications/{id}/feedback {reason: "not_relevant" | "too_frequent" | "spam"}</c> → <c>{feedback}</c> and
/// <c>POST /v1/notifications/{id}/click</c> → <c>{clicked_at}</c>: recorded for measurement (the first of each stands; a click
/// also reads the notification). <c>spam</c> on a message a merchant sent blocks that merchant's marketing and service
/// messages to this person. Another person's notification is 404.
/// </summary>
internal static class NotificationFeedback
{
    public static readonly IReadOnlyList<string> Reasons = ["not_relevant", "too_frequent", "spam"];

    public sealed record Request(string? Reason);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/notifications/{id}/feedback", FeedbackAsync).RequireUser().WithTags("Notifications");
        app.MapPost("/v1/notifications/{id}/click", ClickAsync).RequireUser().WithTags("Notifications");
    }

    private static async Task<IResult> FeedbackAsync(string id, HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (request!.Reason is not { } reason || !Reasons.Contains(reason))
            return ApiProblem.BadRequest(ErrorCodes.InvalidFeedbackReason, $"reason must be one of {string.Join(", ", Reasons)}.");
        if (!Guid.TryParse(id, out var notificationId)) return ApiProblem.NotFound("No such notification.");
        var userId = http.UserId();
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        var row = await connection.QuerySingleOrDefaultAsync<(string? Feedback, Guid? Sender)?>(new CommandDefinition(
            $"SELECT feedback, sender_merchant_id FROM notifications WHERE id = @notificationId AND user_id = @userId AND {NotificationInbox.Visible}",
            new { notificationId, userId, nowUs }, tx, cancellationToken: ct));
        if (row is not { } r) return ApiProblem.NotFound("No such notification.");
        if (r.Feedback is null)
        {
            await connection.ExecuteAsync(new CommandDefinition("UPDATE notifications SET feedback = @reason WHERE id = @notificationId",
                new { reason, notificationId }, tx, cancellationToken: ct));
            if (reason == "spam" && r.Sender is { } merchantId)
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO notification_sender_blocks (user_id, merchant_id, created_at_us) VALUES (@userId, @merchantId, @nowUs)
                    ON CONFLICT (user_id, merchant_id) DO NOTHING
                    """, new { userId, merchantId, nowUs }, tx, cancellationToken: ct));
        }
        await tx.CommitAsync(ct);
        return Results.Json(new { feedback = r.Feedback ?? reason }, JsonDefaults.Options);
    }

    private static async Task<IResult> ClickAsync(string id, HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var notificationId)) return ApiProblem.NotFound("No such notification.");
        var userId = http.UserId();
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        var clicked = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition($"""
            UPDATE notifications SET clicked_at_us = COALESCE(clicked_at_us, @nowUs), read_at_us = COALESCE(read_at_us, @nowUs)
            WHERE id = @notificationId AND user_id = @userId AND {NotificationInbox.Visible}
            RETURNING clicked_at_us
            """, new { notificationId, userId, nowUs }, cancellationToken: ct));
        return clicked is { } at
            ? Results.Json(new { clicked_at = TimeProviderExtensions.FromUnixMicroseconds(at) }, JsonDefaults.Options)
            : ApiProblem.NotFound("No such notification.");
    }
}
