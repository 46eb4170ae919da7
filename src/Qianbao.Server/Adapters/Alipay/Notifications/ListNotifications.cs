using Dapper;
using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Adapters.Alipay.Notifications;

/// <summary>
/// <c>GET /admin/v1/notifications?trade_no=&amp;status=&amp;limit=</c> → <c>{items:[...]}</c>: the merchant
/// notification outbox, newest first, optionally for one trade and/or one status (<c>pending</c>, <c>delivered</c>,
/// <c>failed</c>). Lets an operator see why a merchant says it never heard about a payment.
/// </summary>
internal static class ListNotifications
{
    public const int LimitDefault = 20;
    public const int LimitMax = 100;

    /// <summary>Longer than any trade number we issue; a longer filter cannot match and is refused.</summary>
    public const int TradeNoLengthMax = 64;

    public static readonly IReadOnlyList<string> Statuses = ["pending", "delivered", "failed"];

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/notifications", HandleAsync).RequireOperator(OperatorRole.Support).WithTags("Operator");

    public static async Task<IResult> HandleAsync(Db db, CancellationToken ct,
        [FromQuery(Name = "trade_no")] string? tradeNo = null, string? status = null, string? limit = null)
    {
        if (!PageLimit.TryRead(limit, LimitDefault, LimitMax, out var take, out var limitProblem)) return limitProblem;
        if (status is not null && !Statuses.Contains(status))
            return ApiProblem.BadRequest("invalid_status", "status must be one of pending, delivered, failed.");
        if (tradeNo is not null && (tradeNo.Length == 0 || tradeNo.Length > TradeNoLengthMax))
            return ApiProblem.BadRequest("invalid_trade_no", $"trade_no must be 1..{TradeNoLengthMax} characters.");

        return Results.Json(new { items = await QueryAsync(db, tradeNo, status, take, ct) }, JsonDefaults.Options);
    }

    /// <summary>One outbox row as the operator sees it; times RFC 3339 UTC, <c>next_attempt_at</c> only while pending.</summary>
    public sealed record Item(Guid Id, string NotifyId, string TradeNo, string Event, string Url, string Status, int Attempts,
        DateTimeOffset? NextAttemptAt, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset? DeliveredAt);

    /// <summary>Newest first (ids are time-ordered, so they break ties in creation time stably).</summary>
    public static async Task<IReadOnlyList<Item>> QueryAsync(Db db, string? tradeNo, string? status, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, LimitMax);
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition("""
            SELECT id, notify_id, trade_no, event, url, status, attempts, next_attempt_at_us, last_error, created_at_us, delivered_at_us
            FROM notify_deliveries
            WHERE (@tradeNo IS NULL OR trade_no = @tradeNo) AND (@status IS NULL OR status = @status)
            ORDER BY created_at_us DESC, id DESC
            LIMIT @limit
            """, new { tradeNo, status, limit }, cancellationToken: ct));
        return [.. rows.Select(r => new Item(r.id, r.notify_id, r.trade_no, r.@event, r.url, r.status, r.attempts,
            r.status == "pending" ? TimeProviderExtensions.FromUnixMicroseconds(r.next_attempt_at_us) : null,
            r.last_error, TimeProviderExtensions.FromUnixMicroseconds(r.created_at_us),
            r.delivered_at_us is { } d ? TimeProviderExtensions.FromUnixMicroseconds(d) : null))];
    }

    private sealed class Row
    {
        public Guid id { get; init; }
        public string notify_id { get; init; } = "";
        public string trade_no { get; init; } = "";
        public string @event { get; init; } = "";
        public string url { get; init; } = "";
        public string status { get; init; } = "";
        public int attempts { get; init; }
        public long next_attempt_at_us { get; init; }
        public string? last_error { get; init; }
        public long created_at_us { get; init; }
        public long? delivered_at_us { get; init; }
    }
}
