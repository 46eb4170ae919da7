using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// Releases inbox messages held by quiet hours once their time has come: in one transaction per message it takes the
/// person's next inbox number (the settings row, the lock every notification of theirs takes), renumbers the message and
/// clears its pending mark, and raises the same signal a new notification raises (<see cref="NotificationFeed"/>: the
/// in-process wake and, on PostgreSQL, <c>pg_notify</c> at commit). So an open stream gets it within a pass, also when it
/// already streamed a later message (the old number was behind it), and a stream resuming with <c>Last-Event-ID</c> finds
/// it after everything it saw. The inbox list shows it from its time regardless (visible_at), a pass at most later than
/// the stream. Several processes may run passes: the conditional update releases each message once.
/// Before a message is released the person's wish is read again under the same lock: one who turned the category's in-app
/// channel off (withdrew marketing consent) or marked its sender as spam while it was held does not get it; it is recorded
/// <c>withdrawn</c>, as Messaging records a held SMS or e-mail whose consent was withdrawn.
/// </summary>
internal sealed class HeldNotifications(Db db, NotificationFeed feed, TimeProvider clock)
{
    public const int BatchMax = 500;

    /// <summary>One pass: releases up to <see cref="BatchMax"/> due messages; returns how many it released.</summary>
    public async Task<int> ReleaseDueAsync(CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        List<(Guid Id, Guid UserId, short Category, Guid? Sender)> due;
        await using (var connection = await db.OpenAsync(ct))
            due = (await connection.QueryAsync<(Guid, Guid, short, Guid?)>(new CommandDefinition($"""
                SELECT id, user_id, category, sender_merchant_id FROM notifications WHERE release_pending = 1 AND visible_at_us <= @nowUs ORDER BY visible_at_us LIMIT {BatchMax}
                """, new { nowUs }, cancellationToken: ct))).AsList();
        var released = 0;
        foreach (var (id, userId, category, sender) in due)
        {
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await db.BeginWriteAsync(connection, ct);
            var settings = await NotificationSettings.TakeNextAsync(connection, tx, userId, nowUs, ct);
            if (!await StillWantedAsync(connection, tx, userId, (NotificationCategory)category, sender, settings.Preferences, ct))
            {
                if (await WithdrawAsync(connection, tx, id, ct) == 0) continue;
                await tx.CommitAsync(ct);
                released++;
                continue;
            }
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE notifications SET seq = @seq, release_pending = 0 WHERE id = @id AND release_pending = 1", new { id, seq = settings.Seq }, tx, cancellationToken: ct));
            if (changed == 0) continue; // released by another pass meanwhile: the rollback gives the number back
            await feed.PublishAsync(connection, tx, userId, ct);
            await tx.CommitAsync(ct);
            released++;
        }
        return released;
    }

    /// <summary>
    /// Whether the person still wants this held message in the inbox, read under their settings row's lock: the category's
    /// in-app switch as it is now (marketing: the consent) and no spam block of its sender since it was held.
    /// </summary>
    private static async Task<bool> StillWantedAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx, Guid userId,
        NotificationCategory category, Guid? sender, NotificationPreferences preferences, CancellationToken ct)
    {
        if (!NotificationPreferences.Has(preferences.ChannelsOf(category), NotificationChannel.InApp)) return false;
        return sender is not { } merchantId || category is not (NotificationCategory.Marketing or NotificationCategory.Service)
            || await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM notification_sender_blocks WHERE user_id = @userId AND merchant_id = @merchantId",
                new { userId, merchantId }, tx, cancellationToken: ct)) == 0;
    }

    /// <summary>
    /// Records a held message withdrawn instead of releasing it: its in-app delivery <c>withdrawn</c>, and the notification
    /// <c>withdrawn</c> unless it also went, or is still due to go, on another channel (then <c>not_in_inbox</c>, as a
    /// message sent on other channels only; the SMS or e-mail checks its own consent when it leaves).
    /// </summary>
    private static async Task<int> WithdrawAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx, Guid id, CancellationToken ct)
    {
        var changed = await connection.ExecuteAsync(new CommandDefinition($"""
            UPDATE notifications SET release_pending = 0,
                status = CASE WHEN EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = notifications.id
                                           AND d.channel <> {(short)NotificationChannel.InApp} AND d.decision IN ({(short)DeliveryDecision.Now}, {(short)DeliveryDecision.Held}))
                              THEN {(short)NotificationStatus.NotInInbox} ELSE {(short)NotificationStatus.Withdrawn} END
            WHERE id = @id AND release_pending = 1
            """, new { id }, tx, cancellationToken: ct));
        if (changed > 0)
            await connection.ExecuteAsync(new CommandDefinition(
                $"UPDATE notification_deliveries SET decision = {(short)DeliveryDecision.Withdrawn} WHERE notification_id = @id AND channel = {(short)NotificationChannel.InApp}",
                new { id }, tx, cancellationToken: ct));
        return changed;
    }
}

/// <summary>Runs <see cref="HeldNotifications"/> every second.</summary>
internal sealed class HeldNotificationReleaser(HeldNotifications held, ILogger<HeldNotificationReleaser> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await held.ReleaseDueAsync(stoppingToken) >= HeldNotifications.BatchMax) { }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Releasing held notifications failed; trying again next interval");
            }
            try { await Task.Delay(Interval, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
