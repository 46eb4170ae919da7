using System.Globalization;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>
/// <c>GET /admin/v1/messaging/kpis?from=&amp;to=</c> (RFC 3339; default the last 7 days) → <c>{from, to, items:[{category,
/// channel, sent, delivered, opened, clicked, opted_out, spam, delivery_rate, open_rate, click_rate, opt_out_rate,
/// spam_rate}]}</c> over the notifications created in [from, to). The operator KPIs (Analytics) show the same items by asking
/// <see cref="ReadAsync"/>: one computation for both. Sent: queued on the channel (now or held); delivered:
/// due by now (in the app: visible in the inbox, so not a held message withdrawn at its release; SMS and e-mail: handed to the channel's queue, whose provider outcome is
/// Messaging's); opened and clicked as recorded on the notification (in-app read, e-mail pixel; click, action, e-mail
/// link); opted out: the person withdrew consent on that channel after the delivery; spam: in-app spam feedback. Rates
/// are over delivered (delivery rate over sent).
/// </summary>
internal sealed class MessagingKpis(Db db, TimeProvider clock)
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/messaging/kpis", HandleAsync).RequireOperator(OperatorRole.Owner, OperatorRole.Support).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string? from, string? to, MessagingKpis kpis, TimeProvider clock, CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        long toUs = nowUs, fromUs = nowUs - (long)TimeSpan.FromDays(7).TotalMicroseconds;
        if (to is not null && !TryParse(to, out toUs)) return ApiProblem.BadRequest(ErrorCodes.InvalidTime, "to must be an RFC 3339 timestamp.");
        if (from is not null && !TryParse(from, out fromUs)) return ApiProblem.BadRequest(ErrorCodes.InvalidTime, "from must be an RFC 3339 timestamp.");
        if (fromUs > toUs) return ApiProblem.BadRequest(ErrorCodes.InvalidTime, "from must not be after to.");
        return Results.Json(new
        {
            from = TimeProviderExtensions.FromUnixMicroseconds(fromUs),
            to = TimeProviderExtensions.FromUnixMicroseconds(toUs),
            items = await kpis.ReadAsync(fromUs, toUs, ct),
        }, JsonDefaults.Options);
    }

    /// <summary>One category and channel's counts and rates (rates over delivered; the delivery rate over sent; 0 when nothing to divide).</summary>
    public sealed record Item(string Category, string Channel, long Sent, long Delivered, long Opened, long Clicked, long OptedOut, long Spam,
        double DeliveryRate, double OpenRate, double ClickRate, double OptOutRate, double SpamRate);

    /// <summary>The items for the notifications created in [<paramref name="fromUs"/>, <paramref name="toUs"/>), ordered by category and channel.</summary>
    public async Task<IReadOnlyList<Item>> ReadAsync(long fromUs, long toUs, CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT n.category, d.channel,
                   COUNT(*) AS sent,
                   SUM(CASE WHEN d.due_at_us <= @nowUs AND d.decision <> {(short)DeliveryDecision.Withdrawn} THEN 1 ELSE 0 END) AS delivered,
                   SUM(CASE WHEN d.due_at_us <= @nowUs AND d.decision <> {(short)DeliveryDecision.Withdrawn} AND n.read_at_us IS NOT NULL THEN 1 ELSE 0 END) AS opened,
                   SUM(CASE WHEN d.due_at_us <= @nowUs AND d.decision <> {(short)DeliveryDecision.Withdrawn} AND n.clicked_at_us IS NOT NULL THEN 1 ELSE 0 END) AS clicked,
                   SUM(CASE WHEN d.due_at_us <= @nowUs AND EXISTS (SELECT 1 FROM notification_consents c WHERE c.user_id = n.user_id AND c.channel = d.channel
                        AND c.status = 1 AND c.at_us >= d.due_at_us) THEN 1 ELSE 0 END) AS opted_out,
                   SUM(CASE WHEN n.feedback = 'spam' THEN 1 ELSE 0 END) AS spam
            FROM notifications n JOIN notification_deliveries d ON d.notification_id = n.id
            WHERE n.created_at_us >= @fromUs AND n.created_at_us < @toUs AND d.decision IN ({(short)DeliveryDecision.Now}, {(short)DeliveryDecision.Held}, {(short)DeliveryDecision.Withdrawn})
            GROUP BY n.category, d.channel ORDER BY n.category, d.channel
            """, new { fromUs, toUs, nowUs }, cancellationToken: ct));
        return [.. rows.Select(r => new Item(
            NotificationInbox.CategoryName((NotificationCategory)r.category),
            CampaignDefinition.ChannelNames.Single(c => c.Value == (NotificationChannel)r.channel).Key,
            r.sent, r.delivered, r.opened, r.clicked, r.opted_out, r.spam,
            Rate(r.delivered, r.sent), Rate(r.opened, r.delivered), Rate(r.clicked, r.delivered), Rate(r.opted_out, r.delivered), Rate(r.spam, r.delivered)))];
    }

    private static double Rate(long n, long of) => of == 0 ? 0 : (double)n / of;

    private static bool TryParse(string text, out long us)
    {
        us = 0;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return false;
        us = t.ToUnixMicroseconds();
        return true;
    }

    private sealed class Row
    {
        public short category { get; init; }
        public short channel { get; init; }
        public long sent { get; init; }
        public long delivered { get; init; }
        public long opened { get; init; }
        public long clicked { get; init; }
        public long opted_out { get; init; }
        public long spam { get; init; }
    }
}
