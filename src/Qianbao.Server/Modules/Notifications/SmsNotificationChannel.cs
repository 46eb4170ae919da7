using System.Data.Common;
using Qianbao.Server.Modules.Messaging;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>The SMS channel: Messaging's durable outbox, due when the notification is (held ones wait for quiet hours to end).</summary>
internal sealed class SmsNotificationChannel(SmsOutbox outbox) : INotificationChannel
{
    public NotificationChannel Channel => NotificationChannel.Sms;

    public async ValueTask QueueAsync(DbConnection connection, DbTransaction tx, NotificationDelivery delivery, CancellationToken ct)
    {
        if (delivery.Phone is null) return;
        await outbox.QueueTextAsync(connection, tx, delivery.Phone, "notification:" + delivery.Type, delivery.Locale,
            NotificationTemplates.SmsText(delivery.Locale, delivery.Body), delivery.DueAtUs, ct);
    }
}
