using System.Data.Common;
using Qianbao.Server.Modules.Messaging;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// The SMS channel: Messaging's durable outbox, due when the notification is (held ones wait for quiet hours to end).
/// A marketing text ends with its opt-out link (<see cref="UnsubscribeLinks"/>), which withdraws the SMS marketing consent.
/// </summary>
internal sealed class SmsNotificationChannel(SmsOutbox outbox, UnsubscribeLinks unsubscribe) : INotificationChannel
{
    public NotificationChannel Channel => NotificationChannel.Sms;

    public ValueTask<bool> ReachesAsync(DbConnection connection, DbTransaction tx, Guid userId, bool hasPhone, CancellationToken ct) =>
        ValueTask.FromResult(hasPhone);

    public async ValueTask QueueAsync(DbConnection connection, DbTransaction tx, NotificationDelivery delivery, CancellationToken ct)
    {
        if (delivery.Phone is null) return;
        var text = NotificationTemplates.SmsText(delivery.Locale, delivery.Body);
        if (delivery.Category == NotificationCategory.Marketing && unsubscribe.Url(delivery.UserId, NotificationChannel.Sms) is { } optOut)
            text += (delivery.Locale == "en" ? " Opt out: " : " 退订：") + optOut;
        await outbox.QueueTextAsync(connection, tx, delivery.Phone, "notification:" + delivery.Type, delivery.Locale, text, delivery.DueAtUs, ct,
            delivery.Category == NotificationCategory.Marketing ? delivery.UserId : null);
    }
}
