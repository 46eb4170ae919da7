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
/// </summary>
internal sealed class HeldNotifications(Db db, NotificationFeed feed, TimeProvider clock)
{
    public const int BatchMax = 500;

    /// <summary>One pass: releases up to <see cref="BatchMax"/> due messages; returns how many it released.</summary>
    public async Task<int> ReleaseDueAsync(CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        List<(Guid Id, Guid UserId)> due;
        await using (var connection = await db.OpenAsync(ct))
            due = (await connection.QueryAsync<(Guid, Guid)>(new CommandDefinition($"""
                SELECT id, user_id FROM notifications WHERE release_pending = 1 AND visible_at_us <= @nowUs ORDER BY visible_at_us LIMIT {BatchMax}
                """, new { nowUs }, cancellationToken: ct))).AsList();
        var released = 0;
        foreach (var (id, userId) in due)
        {
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await db.BeginWriteAsync(connection, ct);
            var seq = (await NotificationSettings.TakeNextAsync(connection, tx, userId, nowUs, ct)).Seq;
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE notifications SET seq = @seq, release_pending = 0 WHERE id = @id AND release_pending = 1", new { id, seq }, tx, cancellationToken: ct));
            if (changed == 0) continue; // released by another pass meanwhile: the rollback gives the number back
            await feed.PublishAsync(connection, tx, userId, ct);
            await tx.CommitAsync(ct);
            released++;
        }
        return released;
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
