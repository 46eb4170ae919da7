using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// <c>POST /v1/notifications/{id}/read</c> and <c>POST /v1/notifications/read-all</c> → <c>{unread}</c>;
/// <c>GET /v1/notifications/unread-count</c> → <c>{unread}</c>. Reading again keeps the first read time (the open of a
/// campaign is the first read); another person's notification is 404, as one that does not exist.
/// </summary>
internal static class ReadNotifications
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/notifications/{id}/read", ReadAsync).RequireUser().WithTags("Notifications");
        app.MapPost("/v1/notifications/read-all", ReadAllAsync).RequireUser().WithTags("Notifications");
        app.MapGet("/v1/notifications/unread-count", CountAsync).RequireUser().WithTags("Notifications");
    }

    private static async Task<IResult> ReadAsync(string id, HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var notificationId)) return ApiProblem.NotFound("No such notification.");
        var userId = http.UserId();
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        var found = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            $"SELECT COUNT(*) FROM notifications WHERE id = @notificationId AND user_id = @userId AND {NotificationInbox.Visible}",
            new { notificationId, userId, nowUs }, cancellationToken: ct));
        if (found == 0) return ApiProblem.NotFound("No such notification.");
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE notifications SET read_at_us = @nowUs WHERE id = @notificationId AND user_id = @userId AND read_at_us IS NULL",
            new { notificationId, userId, nowUs }, cancellationToken: ct));
        return Results.Json(new { unread = await NotificationInbox.UnreadAsync(connection, userId, nowUs, ct) }, JsonDefaults.Options);
    }

    private static async Task<IResult> ReadAllAsync(HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        var userId = http.UserId();
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        // Only what is visible now: a message still held by quiet hours is unread when it arrives.
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE notifications SET read_at_us = @nowUs WHERE user_id = @userId AND read_at_us IS NULL AND {NotificationInbox.Visible}",
            new { userId, nowUs }, cancellationToken: ct));
        return Results.Json(new { unread = await NotificationInbox.UnreadAsync(connection, userId, nowUs, ct) }, JsonDefaults.Options);
    }

    private static async Task<IResult> CountAsync(HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return Results.Json(new { unread = await NotificationInbox.UnreadAsync(connection, http.UserId(), clock.GetUnixMicroseconds(), ct) }, JsonDefaults.Options);
    }
}
