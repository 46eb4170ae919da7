using System.Globalization;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// <c>GET /v1/notifications?limit=&amp;cursor=&amp;unread=</c> → <c>{items:[{id, category, type, title, body, action,
/// created_at, read_at}], next_cursor, unread_count}</c>, newest first. The cursor is the person's inbox number of the last
/// item, so pages are stable while new notifications arrive; <c>unread=true</c> lists only unread ones.
/// </summary>
internal static class ListNotifications
{
    public const int LimitDefault = 20;
    public const int LimitMax = 100;

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/notifications", HandleAsync).RequireUser().WithTags("Notifications");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, TimeProvider clock, CancellationToken ct, string? limit = null, string? cursor = null,
        string? unread = null)
    {
        if (!PageLimit.TryRead(limit, LimitDefault, LimitMax, out var pageSize, out var limitProblem)) return limitProblem;
        var beforeSeq = long.MaxValue;
        if (cursor is not null && (!long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out beforeSeq) || beforeSeq < 1))
            return ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "cursor is not one this API returned.");
        bool unreadOnly;
        if (unread is null) unreadOnly = false;
        else if (!bool.TryParse(unread, out unreadOnly))
            return ApiProblem.BadRequest(ErrorCodes.InvalidUnreadFilter, "unread must be true or false.");

        var userId = http.UserId();
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        var rows = (await connection.QueryAsync<NotificationInbox.Item>(new CommandDefinition($"""
            SELECT id, seq, category, type, title, body, action, visible_at_us, read_at_us FROM notifications
            WHERE user_id = @userId AND seq < @beforeSeq AND {NotificationInbox.Visible} {(unreadOnly ? "AND read_at_us IS NULL" : "")}
            ORDER BY seq DESC LIMIT {pageSize + 1}
            """, new { userId, beforeSeq, nowUs }, cancellationToken: ct))).AsList();
        var page = rows.Take(pageSize).ToList();
        var unreadCount = await NotificationInbox.UnreadAsync(connection, userId, nowUs, ct);
        return Results.Json(new
        {
            items = page.Select(NotificationInbox.Json),
            next_cursor = rows.Count > pageSize ? page[^1].seq.ToString(CultureInfo.InvariantCulture) : null,
            unread_count = unreadCount,
        }, JsonDefaults.Options);
    }
}
