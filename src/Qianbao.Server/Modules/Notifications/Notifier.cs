using System.ComponentModel.DataAnnotations;
using System.Data.Common;
using System.Text.Json;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>Marketing frequency caps (configuration section <c>Qianbao:Messaging</c>); every key is listed in README.</summary>
internal sealed class NotificationOptions
{
    public const string SectionName = "Qianbao:Messaging";

    /// <summary>Most marketing messages a person receives per calendar day in their time zone (0..100).</summary>
    [Range(0, 100)]
    public int MarketingPerDayMax { get; set; } = 2;

    /// <summary>Most marketing messages a person receives per rolling 7 days (0..1000).</summary>
    [Range(0, 1000)]
    public int MarketingPerWeekMax { get; set; } = 5;

    /// <summary>A transfer sent of at least this many yuan is also a security alert to the sender, in the app and by SMS (1..100000000).</summary>
    [Range(1, 100_000_000)]
    public int LargeTransferAlertMinYuan { get; set; } = 50_000;

    /// <summary>Most held messages released (quiet hours over) per transaction of the releaser, in one set of statements (1..10000).</summary>
    [Range(1, 10_000)]
    public int HeldReleaseBatchMax { get; set; } = 1000;
}

/// <summary>
/// Notifies a person: in the transaction of what caused it (or a subscriber's own), it takes the person's settings row
/// (the per-person lock and sequence, so caps are counted without a race and the inbox is numbered in commit order),
/// decides per channel with <see cref="NotificationRules"/>, writes the inbox row and queues each channel's delivery in
/// that channel's outbox. The dedupe key is unique per person: asking again for the same fact returns the first
/// notification and queues nothing more, so a redelivered event (also after a crash between commit and delivery, when the
/// queued deliveries are already durable) is never notified twice.
/// </summary>
internal sealed class Notifier(TimeProvider clock, NotificationOptions options, UserDirectory users, IEnumerable<INotificationChannel> channels,
    NotificationFeed feed)
{
    public const int DedupeKeyLengthMax = 200;
    public const int TypeLengthMax = 64;

    private readonly Dictionary<NotificationChannel, INotificationChannel> queues = channels.ToDictionary(c => c.Channel);

    public async Task<NotifyResult> NotifyAsync(DbConnection connection, DbTransaction tx, NotificationRequest request, CancellationToken ct)
    {
        if (request.DedupeKey.Length is 0 or > DedupeKeyLengthMax) throw new ArgumentException("dedupe key must be 1..200 characters", nameof(request));
        if (request.Type.Length is 0 or > TypeLengthMax) throw new ArgumentException("type must be 1..64 characters", nameof(request));

        var existing = await connection.QuerySingleOrDefaultAsync<(Guid Id, short Status)?>(new CommandDefinition(
            "SELECT id, status FROM notifications WHERE user_id = @UserId AND dedupe_key = @DedupeKey",
            new { request.UserId, request.DedupeKey }, tx, cancellationToken: ct));
        if (existing is { } e) return new NotifyResult(e.Id, false, (NotificationStatus)e.Status);

        var now = clock.GetUtcNow();
        var nowUs = now.ToUnixMicroseconds();
        var settings = await NotificationSettings.TakeNextAsync(connection, tx, request.UserId, nowUs, ct);
        var marketing = request.Category == NotificationCategory.Marketing
            ? (await connection.QueryAsync<long>(new CommandDefinition($"""
                SELECT visible_at_us FROM notifications
                WHERE user_id = @UserId AND category = {(short)NotificationCategory.Marketing} AND status IN ({(short)NotificationStatus.Inbox}, {(short)NotificationStatus.NotInInbox})
                  AND visible_at_us > @since
                """, new { request.UserId, since = nowUs - (long)TimeSpan.FromDays(9).TotalMicroseconds }, tx, cancellationToken: ct))).AsList()
            : [];
        var contact = await users.ContactAsync(connection, tx, request.UserId, ct);
        var available = new HashSet<NotificationChannel> { NotificationChannel.InApp };
        // Only channels the category wants are asked (the e-mail channel reads the verified address: no read when it is off).
        var wanted = settings.Preferences.ChannelsOf(request.Category);
        foreach (var (channel, queue) in queues)
            if (NotificationPreferences.Has(wanted, channel) && await queue.ReachesAsync(connection, tx, request.UserId, contact is not null, ct)) available.Add(channel);
        if (request.Channels is { } only) available.IntersectWith(only);

        // A sender the person marked as spam sends them no more marketing or service messages (recorded, sent nowhere).
        var blocked = request.SenderMerchantId is { } sender && request.Category is NotificationCategory.Marketing or NotificationCategory.Service
            && await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM notification_sender_blocks WHERE user_id = @UserId AND merchant_id = @sender",
                new { request.UserId, sender }, tx, cancellationToken: ct)) > 0;
        var plan = blocked
            ? new NotificationPlan(NotificationStatus.Suppressed, nowUs, new Dictionary<NotificationChannel, DeliveryDecision>())
            : NotificationRules.Decide(new NotificationContext(request.Category, settings.Preferences, nowUs, marketing,
                new MarketingCaps(options.MarketingPerDayMax, options.MarketingPerWeekMax), available));

        var locale = NotificationTemplates.Supported(settings.Locale ?? contact?.Locale);
        var rendered = request.Title is null || request.Body is null
            ? await TemplateStore.RenderAsync(connection, tx, request.Type, locale, request.Variables, ct)
            : null;
        var title = request.Title ?? rendered?.Title ?? request.Type;
        var body = request.Body ?? rendered?.Body ?? "";
        var id = Guid.CreateVersion7(now);
        var inserted = await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO notifications (id, user_id, seq, category, type, dedupe_key, status, title, body, action, campaign_id, variant,
                                       sender_merchant_id, visible_at_us, created_at_us, release_pending)
            VALUES (@id, @UserId, @seq, @category, @Type, @DedupeKey, @status, @title, @body, @action, @CampaignId, @Variant,
                    @SenderMerchantId, @due, @nowUs, @pending)
            ON CONFLICT (user_id, dedupe_key) DO NOTHING
            """, new
        {
            id, request.UserId, seq = settings.Seq, category = (short)request.Category, request.Type, request.DedupeKey, status = (short)plan.Status,
            title, body, action = request.Action is null ? null : JsonSerializer.Serialize(request.Action, JsonDefaults.Options),
            request.CampaignId, request.Variant, request.SenderMerchantId, due = plan.DueAtUs, nowUs,
            // Held for the inbox: HeldNotifications releases it when due (a new inbox number and the streams' signal).
            pending = (short)(plan.Status == NotificationStatus.Inbox && plan.DueAtUs > nowUs ? 1 : 0),
        }, tx, cancellationToken: ct));
        if (inserted == 0)
        {
            // Inserted meanwhile by a concurrent transaction for the same fact: that one stands.
            var winner = await connection.QuerySingleAsync<(Guid Id, short Status)>(new CommandDefinition(
                "SELECT id, status FROM notifications WHERE user_id = @UserId AND dedupe_key = @DedupeKey",
                new { request.UserId, request.DedupeKey }, tx, cancellationToken: ct));
            return new NotifyResult(winner.Id, false, (NotificationStatus)winner.Status);
        }

        foreach (var (channel, decision) in plan.Channels)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO notification_deliveries (notification_id, channel, decision, due_at_us) VALUES (@id, @channel, @decision, @due)",
                new { id, channel = (short)channel, decision = (short)decision, due = plan.DueAtUs }, tx, cancellationToken: ct));
            if (channel == NotificationChannel.InApp || !plan.Queues(channel)) continue;
            await queues[channel].QueueAsync(connection, tx,
                new NotificationDelivery(id, request.UserId, request.Category, request.Type, locale, title, body, contact?.Phone, plan.DueAtUs,
                    request.Action, request.SenderMerchantId, request.CampaignId, request.EmailSubject), ct);
        }
        if (plan.Status == NotificationStatus.Inbox && plan.DueAtUs <= nowUs) await feed.PublishAsync(connection, tx, request.UserId, ct);
        return new NotifyResult(id, true, plan.Status);
    }
}
