using System.Data.Common;
using System.Text.Json.Nodes;
using Dapper;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// Reads of the in-app inbox. What is in it: rows with status <c>inbox</c> whose delivery time has come (a message held
/// by quiet hours appears when they end). The unread count is derived from the same rows on every read, so it cannot
/// drift from the inbox.
/// </summary>
internal static class NotificationInbox
{
    public static readonly string Visible = $"status = {(short)NotificationStatus.Inbox} AND visible_at_us <= @nowUs";

    public static async Task<long> UnreadAsync(DbConnection connection, Guid userId, long nowUs, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT COUNT(*) FROM notifications WHERE user_id = @userId AND read_at_us IS NULL AND {Visible}", new { userId, nowUs }, cancellationToken: ct));

    /// <summary>
    /// Visible items after <paramref name="afterSeq"/>, oldest first (a stream's replay). A held item waits for its release
    /// (<see cref="HeldNotifications"/>), which gives it a new number after everything streamed before: under its old
    /// number a stream already past it would never send it.
    /// </summary>
    public static async Task<List<Item>> AfterAsync(DbConnection connection, Guid userId, long afterSeq, long nowUs, int max, CancellationToken ct) =>
        (await connection.QueryAsync<Item>(new CommandDefinition($"""
            SELECT id, seq, category, type, title, body, action, visible_at_us, read_at_us FROM notifications
            WHERE user_id = @userId AND seq > @afterSeq AND {Visible} AND release_pending = 0 ORDER BY seq LIMIT {max}
            """, new { userId, afterSeq, nowUs }, cancellationToken: ct))).AsList();

    public static string CategoryName(NotificationCategory c) => c.ToString().ToLowerInvariant();

    public static object Json(Item r) => new
    {
        id = r.id,
        category = CategoryName((NotificationCategory)r.category),
        type = r.type,
        title = r.title,
        body = r.body,
        action = r.action is null ? null : JsonNode.Parse(r.action),
        created_at = TimeProviderExtensions.FromUnixMicroseconds(r.visible_at_us),
        read_at = r.read_at_us is { } read ? TimeProviderExtensions.FromUnixMicroseconds(read) : (DateTimeOffset?)null,
    };

    internal sealed class Item
    {
        public Guid id { get; init; }
        public long seq { get; init; }
        public short category { get; init; }
        public string type { get; init; } = "";
        public string title { get; init; } = "";
        public string body { get; init; } = "";
        public string? action { get; init; }
        public long visible_at_us { get; init; }
        public long? read_at_us { get; init; }
    }
}
