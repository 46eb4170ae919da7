using System.Data.Common;
using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// Security alerts as notifications (category security: every channel, never held or capped, cannot be turned off), in the
/// security event's transaction, keyed by the event's id. This replaces Identity's direct SMS alerts: the SMS is the
/// notification's.
/// </summary>
internal sealed class SecurityNotifications(Notifier notifier) : ISecurityAlerts
{
    public Task AlertAsync(DbConnection connection, DbTransaction tx, Guid userId, Guid securityEventId, SecurityAlert alert, CancellationToken ct) =>
        notifier.NotifyAsync(connection, tx, new NotificationRequest(userId, NotificationCategory.Security, alert.Type,
            "security_event:" + securityEventId.ToString("N"), alert.Variables), ct);
}
