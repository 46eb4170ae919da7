using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Modules.Merchants.Accounts;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Adapters.Alipay.Notifications;

/// <summary>
/// The native merchant API over the asynchronous notifications the gateway sent to the calling merchant (its rows of
/// <c>notify_deliveries</c>, found by the merchant id each row carries). Another merchant's delivery is 404, as is an unknown one.
/// <list type="bullet">
/// <item><c>GET /merchant/v1/notify-deliveries?status=&amp;limit=&amp;cursor=</c> → <c>{items:[...], next_cursor}</c>, newest first;
/// <c>status</c> one of <c>pending</c>, <c>delivered</c>, <c>failed</c>; <c>limit</c> 1..100 (20); every staff role.</item>
/// <item><c>POST /merchant/v1/notify-deliveries/{id}/replay</c> → 202 <c>{id, status:"pending", url}</c>: a delivered or failed
/// row is queued again, due now, with its <c>notify_id</c> and attempt count kept (one more attempt, and the rest of the retry
/// schedule if any is left). Idempotent while queued: replaying a pending row (waiting, due or in flight) changes nothing and
/// answers the same, so repeated clicks send once. The URL is chosen again as when it was queued (the trade's own
/// <c>notify_url</c>, else the app's current one), so a merchant who fixed its notify URL replays to the new one. Admin only.</item>
/// </list>
/// </summary>
internal static class MerchantNotifyDeliveries
{
    public const int LimitDefault = 20;
    public const int LimitMax = 100;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/merchant/v1/notify-deliveries", ListAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");
        app.MapPost("/merchant/v1/notify-deliveries/{id}/replay", ReplayAsync).RequireMerchant().WithTags("Merchant");
    }

    private static async Task<IResult> ListAsync(HttpContext http, [FromServices] Db db, CancellationToken ct)
    {
        var q = http.Request.Query;
        var status = q["status"].ToString();
        if (status.Length > 0 && !ListNotifications.Statuses.Contains(status))
            return ApiProblem.BadRequest(ErrorCodes.InvalidStatus, "status must be one of pending, delivered, failed.");
        if (!PageLimit.TryRead(q["limit"], LimitDefault, LimitMax, out var limit, out var limitProblem)) return limitProblem;
        (long CreatedUs, Guid Id)? after = null;
        if (q["cursor"].ToString() is { Length: > 0 } c)
        {
            if (DecodeCursor(c) is not { } decoded) return ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "cursor must be a next_cursor this endpoint returned.");
            after = decoded;
        }

        var sql = new StringBuilder("""
            SELECT id, notify_id, trade_no, event, url, fields_json, status, attempts, next_attempt_at_us, last_error, last_http_status,
                   created_at_us, delivered_at_us
            FROM notify_deliveries WHERE merchant_id = @merchantId
            """);
        if (status.Length > 0) sql.Append(" AND status = @status");
        if (after is not null) sql.Append(" AND (created_at_us < @afterUs OR (created_at_us = @afterUs AND id < @afterId))");
        sql.Append(" ORDER BY created_at_us DESC, id DESC LIMIT @take");
        await using var connection = await db.OpenAsync(ct);
        var rows = (await connection.QueryAsync<Row>(new CommandDefinition(sql.ToString(), new
        {
            merchantId = db.Id(http.Merchant().MerchantId), status, afterUs = after?.CreatedUs ?? 0, afterId = db.Id(after?.Id ?? Guid.Empty), take = limit + 1,
        }, cancellationToken: ct))).AsList();
        var page = rows.Take(limit).ToList();
        var next = rows.Count > limit ? EncodeCursor(page[^1].created_at_us, page[^1].id) : null;
        return Results.Json(new { items = page.Select(Json), next_cursor = next }, JsonDefaults.Options);
    }

    // [FromServices]: the operator-only test host maps these routes without the merchant modules' services.
    private static async Task<IResult> ReplayAsync(string id, HttpContext http, [FromServices] Db db, [FromServices] TradeStore trades,
        [FromServices] MerchantApps apps, [FromServices] NotificationDispatcher dispatcher, [FromServices] TimeProvider clock, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var deliveryId)) return ApiProblem.NotFound("No such notify delivery.");
        var merchantId = db.Id(http.Merchant().MerchantId);
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<(string TradeNo, string Url, string Status)?>(new CommandDefinition(
            "SELECT trade_no, url, status FROM notify_deliveries WHERE id = @id AND merchant_id = @merchantId",
            new { id = db.Id(deliveryId), merchantId }, cancellationToken: ct));
        if (row is not { } found) return ApiProblem.NotFound("No such notify delivery.");
        if (found.Status == "pending") return Accepted(deliveryId, found.Url);

        // The URL as the subscriber would choose it now; the row's own when neither the trade nor the app names one any more.
        var trade = await trades.FindAsync(found.TradeNo, ct);
        var url = trade?.notify_url ?? (trade is null ? null : await apps.NotifyUrlAsync(trade.app_id, ct)) ?? found.Url;
        // Conditional on the status read: of concurrent replays exactly one queues the row, the others answer as for a queued row.
        var changed = await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE notify_deliveries SET status = 'pending', next_attempt_at_us = @now, url = @url
            WHERE id = @id AND merchant_id = @merchantId AND status <> 'pending'
            """, new { id = db.Id(deliveryId), merchantId, now = clock.GetUnixMicroseconds(), url }, cancellationToken: ct));
        if (changed == 1) dispatcher.Nudge();
        else url = await connection.QuerySingleAsync<string>(new CommandDefinition(
            "SELECT url FROM notify_deliveries WHERE id = @id", new { id = db.Id(deliveryId) }, cancellationToken: ct));
        return Accepted(deliveryId, url);
    }

    private static IResult Accepted(Guid id, string url) =>
        Results.Json(new { id, status = "pending", url }, JsonDefaults.Options, statusCode: StatusCodes.Status202Accepted);

    private static object Json(Row r) => new
    {
        id = r.id,
        notify_id = r.notify_id,
        trade_no = r.trade_no,
        notify_type = NotifyType(r.fields_json),
        @event = r.@event,
        url = r.url,
        status = r.status,
        attempts = r.attempts,
        last_http_status = r.last_http_status,
        last_error = r.last_error,
        next_attempt_at = r.status == "pending" ? TimeProviderExtensions.FromUnixMicroseconds(r.next_attempt_at_us) : (DateTimeOffset?)null,
        created_at = TimeProviderExtensions.FromUnixMicroseconds(r.created_at_us),
        delivered_at = r.delivered_at_us is { } d ? TimeProviderExtensions.FromUnixMicroseconds(d) : (DateTimeOffset?)null,
    };

    /// <summary>The notification's <c>notify_type</c> as sent (<c>trade_status_sync</c> for every row today); null if the stored fields do not say.</summary>
    private static string? NotifyType(string fieldsJson)
    {
        try
        {
            using var doc = JsonDocument.Parse(fieldsJson);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("notify_type", out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string EncodeCursor(long createdUs, Guid id) =>
        System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(createdUs.ToString(CultureInfo.InvariantCulture) + "." + id.ToString("D")));

    private static (long, Guid)? DecodeCursor(string cursor)
    {
        if (cursor.Length > 200) return null;
        var bytes = new byte[cursor.Length];
        if (System.Buffers.Text.Base64Url.DecodeFromChars(cursor, bytes, out _, out var written) != System.Buffers.OperationStatus.Done) return null;
        var text = Encoding.UTF8.GetString(bytes, 0, written);
        var dot = text.IndexOf('.');
        if (dot <= 0 || !long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var us)) return null;
        return Guid.TryParseExact(text[(dot + 1)..], "D", out var id) ? (us, id) : null;
    }

    private sealed class Row
    {
        public Guid id { get; init; }
        public string notify_id { get; init; } = "";
        public string trade_no { get; init; } = "";
        public string @event { get; init; } = "";
        public string url { get; init; } = "";
        public string fields_json { get; init; } = "";
        public string status { get; init; } = "";
        public int attempts { get; init; }
        public long next_attempt_at_us { get; init; }
        public string? last_error { get; init; }
        public int? last_http_status { get; init; }
        public long created_at_us { get; init; }
        public long? delivered_at_us { get; init; }
    }
}
