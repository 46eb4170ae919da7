using System.Data.Common;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>What a notification is about; decides which preferences, holds and caps apply. Stored as its number.</summary>
internal enum NotificationCategory : short { Security = 0, Transaction = 1, Marketing = 2, Service = 3 }

/// <summary>Where a notification can reach a person. Stored as its number (and as bit 1 &lt;&lt; n in the settings).</summary>
internal enum NotificationChannel : short { InApp = 0, Sms = 1, Email = 2 }

/// <summary>What became of a notification as a whole.</summary>
internal enum NotificationStatus : short
{
    /// <summary>In the inbox (from <c>visible_at</c>, later than created when held by quiet hours).</summary>
    Inbox = 0,

    /// <summary>Sent on other channels only (the person turned in-app off for the category).</summary>
    NotInInbox = 1,

    /// <summary>Over the marketing frequency cap: recorded, sent nowhere.</summary>
    Capped = 2,

    /// <summary>No channel of the category is on (or none is available): recorded, sent nowhere.</summary>
    Suppressed = 3,

    /// <summary>
    /// Held by quiet hours for the inbox, then not shown at its release: the person turned the category's in-app channel off
    /// (withdrew marketing consent) or blocked its sender meanwhile. As Messaging's <c>withdrawn</c> for SMS and e-mail.
    /// </summary>
    Withdrawn = 4,
}

/// <summary>What was decided for one channel of one notification.
/// <c>Withdrawn</c>: held for the inbox, then withdrawn at its release (see <see cref="NotificationStatus.Withdrawn"/>).</summary>
internal enum DeliveryDecision : short { Now = 0, Held = 1, Capped = 2, Unavailable = 3, Withdrawn = 4 }

/// <summary>What tapping the notification does: <c>{type:"claim_coupon", campaign_id}</c> or <c>{type:"open_url", url}</c>.</summary>
internal sealed record NotificationAction(string Type, Guid? CampaignId = null, string? Url = null)
{
    public static NotificationAction ClaimCoupon(Guid campaignId) => new("claim_coupon", CampaignId: campaignId);

    public static NotificationAction OpenUrl(string url) => new("open_url", Url: url);
}

/// <summary>
/// One notification to one person. <paramref name="DedupeKey"/> names the fact it tells of (an event id, a security event id):
/// it is unique per person, so the same fact is never notified twice however often this is asked (a redelivered event).
/// <paramref name="Type"/> picks the template; <paramref name="Title"/>/<paramref name="Body"/> override it (campaign texts).
/// <paramref name="Channels"/>, when given, limits the channels it may use (a campaign's channels); null: every channel.
/// </summary>
internal sealed record NotificationRequest(
    Guid UserId,
    NotificationCategory Category,
    string Type,
    string DedupeKey,
    IReadOnlyDictionary<string, string>? Variables = null,
    NotificationAction? Action = null,
    Guid? CampaignId = null,
    string? Variant = null,
    Guid? SenderMerchantId = null,
    string? Title = null,
    string? Body = null,
    IReadOnlySet<NotificationChannel>? Channels = null,
    string? EmailSubject = null);

/// <summary>What a channel queue is given: rendered texts, where to, and when it is due (later than now when held).</summary>
internal sealed record NotificationDelivery(
    Guid NotificationId,
    Guid UserId,
    NotificationCategory Category,
    string Type,
    string Locale,
    string Title,
    string Body,
    string? Phone,
    long DueAtUs,
    NotificationAction? Action = null,
    Guid? SenderMerchantId = null,
    Guid? CampaignId = null,
    string? EmailSubject = null);

/// <summary>
/// A channel's durable queue (SMS on Messaging's outbox; email is registered by its own module). Queues in the caller's
/// transaction, so a delivery exists exactly when its notification committed.
/// </summary>
internal interface INotificationChannel
{
    NotificationChannel Channel { get; }

    /// <summary>
    /// Whether this channel can reach the person at all (a phone for SMS, a verified address for e-mail), read in the
    /// notifying transaction; when not, the channel is recorded <c>unavailable</c> and nothing is queued.
    /// </summary>
    ValueTask<bool> ReachesAsync(DbConnection connection, DbTransaction tx, Guid userId, bool hasPhone, CancellationToken ct);

    ValueTask QueueAsync(DbConnection connection, DbTransaction tx, NotificationDelivery delivery, CancellationToken ct);
}

/// <summary>What <see cref="Notifier.NotifyAsync"/> did: the notification (new or the one already there for the key).</summary>
internal readonly record struct NotifyResult(Guid NotificationId, bool Created, NotificationStatus Status);
