using Qianbao.Server.Modules.Messaging;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// Messaging's senders ask this right before a marketing SMS or e-mail leaves: the person's marketing switch for the channel
/// as it is now (a one-click unsubscribe or a preferences change after the message was queued, or while it was held by
/// quiet hours, withdraws it, and the message is recorded <c>withdrawn</c>, never sent).
/// </summary>
internal sealed class MarketingConsentAtDelivery(Db db) : IMarketingConsent
{
    public async ValueTask<bool> AllowsAsync(Guid userId, MessageChannel channel, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var settings = await NotificationSettings.ReadAsync(connection, null, userId, ct);
        var wanted = channel == MessageChannel.Email ? NotificationChannel.Email : NotificationChannel.Sms;
        return NotificationPreferences.Has(settings.Preferences.MarketingChannels, wanted);
    }
}
