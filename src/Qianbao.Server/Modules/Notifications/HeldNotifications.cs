using System.Data.Common;
using System.Text.Json;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// Releases inbox messages held by quiet hours once their time has come, set-based: one transaction per batch of up to
/// <see cref="NotificationOptions.HeldReleaseBatchMax"/> due messages (a campaign held overnight drains at 08:00 in a few
/// transactions, not one per message). In it the due messages are locked (on PostgreSQL <c>FOR UPDATE SKIP LOCKED</c>, so
/// releasers in several processes take disjoint batches), then their people's settings rows in user order (the lock every
/// notification of theirs takes, so numbering and caps hold against concurrent notifications); each released message gets
/// the next inbox number of its person (after everything numbered before, in the order the messages were due) and its
/// pending mark is cleared, a few statements for the whole batch; each person with a released message gets the same signal
/// a new notification raises (<see cref="NotificationFeed"/>: <c>pg_notify</c> at commit, the in-process wake after it).
/// So an open stream gets them within a pass, also when it already streamed a later message (the old number was behind it),
/// and a stream resuming with <c>Last-Event-ID</c> finds them after everything it saw. The inbox list shows a message from
/// its time regardless (visible_at, which the release keeps: a held message counts toward the caps of the day it is
/// delivered on), a pass at most later than the stream.
/// Before a message is released the person's wish is read again under the same lock: one who turned the category's in-app
/// channel off (withdrew marketing consent) or marked its sender as spam while it was held does not get it; it is recorded
/// <c>withdrawn</c>, as Messaging records a held SMS or e-mail whose consent was withdrawn.
/// </summary>
internal sealed class HeldNotifications(Db db, NotificationFeed feed, NotificationOptions options, TimeProvider clock)
{
    /// <summary>One pass: releases (or withdraws) up to <see cref="NotificationOptions.HeldReleaseBatchMax"/> due messages; returns how many.</summary>
    public async Task<int> ReleaseDueAsync(CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        var postgres = db.Engine == DatabaseEngine.Postgres;
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        var due = (await connection.QueryAsync<Due>(new CommandDefinition($"""
            SELECT id, user_id, category, sender_merchant_id FROM notifications WHERE release_pending = 1 AND visible_at_us <= @nowUs
            ORDER BY visible_at_us, seq LIMIT {options.HeldReleaseBatchMax}{(postgres ? " FOR UPDATE SKIP LOCKED" : "")}
            """, new { nowUs }, tx, cancellationToken: ct))).AsList();
        if (due.Count == 0) return 0;

        var people = due.Select(d => d.user_id).Distinct().Order().ToList();
        var (peopleIn, peopleIds) = db.IdIn("user_id", people);
        var settings = (await connection.QueryAsync<SettingsRow>(new CommandDefinition($"""
            SELECT user_id, transaction_channels, marketing_channels, service_channels, last_seq FROM notification_settings WHERE {peopleIn}
            ORDER BY user_id{SqlBatch.LockRows(connection)}
            """, new { ids = peopleIds }, tx, cancellationToken: ct))).ToDictionary(r => r.user_id);
        var blocks = (await connection.QueryAsync<(Guid, Guid)>(new CommandDefinition(
            $"SELECT user_id, merchant_id FROM notification_sender_blocks WHERE {peopleIn}", new { ids = peopleIds }, tx, cancellationToken: ct))).ToHashSet();

        // Numbers continue from each person's last; a person without a settings row (never expected: the notifier creates it)
        // gets the default row, its first number taken here and given back below when nothing of theirs is released.
        var last = new Dictionary<Guid, long>();
        var preferences = new Dictionary<Guid, NotificationPreferences>();
        foreach (var person in people)
        {
            if (settings.TryGetValue(person, out var row))
            {
                last[person] = row.last_seq;
                preferences[person] = new NotificationPreferences(row.transaction_channels, row.marketing_channels, row.service_channels, QuietHours.Default, NotificationPreferences.DefaultTimeZone);
            }
            else
            {
                var created = await NotificationSettings.TakeNextAsync(connection, tx, person, nowUs, ct);
                last[person] = created.Seq - 1;
                preferences[person] = created.Preferences;
            }
        }

        var released = new List<(Guid Id, long Seq)>();
        var withdrawn = new List<Guid>();
        foreach (var d in due)
        {
            var category = (NotificationCategory)d.category;
            var wanted = NotificationPreferences.Has(preferences[d.user_id].ChannelsOf(category), NotificationChannel.InApp)
                && !(d.sender_merchant_id is { } sender && category is NotificationCategory.Marketing or NotificationCategory.Service && blocks.Contains((d.user_id, sender)));
            if (wanted) released.Add((d.id, last[d.user_id] = last[d.user_id] + 1));
            else withdrawn.Add(d.id);
        }

        if (released.Count > 0)
            await connection.ExecuteAsync(new CommandDefinition($"""
                UPDATE notifications SET seq = v.seq, release_pending = 0 FROM {Pairs(postgres, "id", "uuid")} WHERE notifications.id = v.id
                """, Pairs(postgres, released), tx, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition($"""
            UPDATE notification_settings SET last_seq = v.seq FROM {Pairs(postgres, "id", "uuid")} WHERE notification_settings.user_id = v.id
            """, Pairs(postgres, [.. last.Select(l => (l.Key, l.Value))]), tx, cancellationToken: ct));
        if (withdrawn.Count > 0) await WithdrawAsync(connection, tx, withdrawn, ct);

        var owner = due.ToDictionary(d => d.id, d => d.user_id);
        List<Guid> woken = [.. released.Select(r => owner[r.Id]).Distinct()];
        if (postgres && woken.Count > 0)
            await connection.ExecuteAsync(new CommandDefinition(
                $"SELECT count(pg_notify('{NotificationFeed.PgChannel}', u::text)) FROM unnest(@users) AS u", new { users = woken.ToArray() }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        // After the commit, so a woken stream of this process finds its messages at once.
        foreach (var person in woken) feed.Raise(person);
        return due.Count;
    }

    /// <summary>
    /// Records held messages withdrawn instead of releasing them: their in-app delivery <c>withdrawn</c>, and the notification
    /// <c>withdrawn</c> unless it also went, or is still due to go, on another channel (then <c>not_in_inbox</c>, as a
    /// message sent on other channels only; the SMS or e-mail checks its own consent when it leaves).
    /// </summary>
    private async Task WithdrawAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<Guid> ids, CancellationToken ct)
    {
        var (idIn, idsValue) = db.IdIn("id", ids);
        await connection.ExecuteAsync(new CommandDefinition($"""
            UPDATE notifications SET release_pending = 0,
                status = CASE WHEN EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = notifications.id
                                           AND d.channel <> {(short)NotificationChannel.InApp} AND d.decision IN ({(short)DeliveryDecision.Now}, {(short)DeliveryDecision.Held}))
                              THEN {(short)NotificationStatus.NotInInbox} ELSE {(short)NotificationStatus.Withdrawn} END
            WHERE {idIn}
            """, new { ids = idsValue }, tx, cancellationToken: ct));
        var (deliveryIn, _) = db.IdIn("notification_id", ids);
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE notification_deliveries SET decision = {(short)DeliveryDecision.Withdrawn} WHERE {deliveryIn} AND channel = {(short)NotificationChannel.InApp}",
            new { ids = idsValue }, tx, cancellationToken: ct));
    }

    /// <summary>A relation <c>v(id, seq)</c> of the <c>@ids</c>/<c>@seqs</c> (PostgreSQL: two arrays) or <c>@pairs</c> (SQLite: a JSON array of pairs).</summary>
    private static string Pairs(bool postgres, string idName, string idType) => postgres
        ? $"unnest(@ids::{idType}[], @seqs::bigint[]) AS v({idName}, seq)"
        : $"(SELECT json_extract(value, '$[0]') AS {idName}, json_extract(value, '$[1]') AS seq FROM json_each(@pairs)) AS v";

    private static object Pairs(bool postgres, IReadOnlyList<(Guid Id, long Seq)> rows) => postgres
        ? new { ids = rows.Select(r => r.Id).ToArray(), seqs = rows.Select(r => r.Seq).ToArray() }
        : new { pairs = JsonSerializer.Serialize(rows.Select(r => new object[] { r.Id.ToString(), r.Seq })) };

    private sealed class Due
    {
        public Guid id { get; init; }
        public Guid user_id { get; init; }
        public short category { get; init; }
        public Guid? sender_merchant_id { get; init; }
    }

    private sealed class SettingsRow
    {
        public Guid user_id { get; init; }
        public int transaction_channels { get; init; }
        public int marketing_channels { get; init; }
        public int service_channels { get; init; }
        public long last_seq { get; init; }
    }
}

/// <summary>Runs <see cref="HeldNotifications"/> every second (batch after batch while a pass finds a full one).</summary>
internal sealed class HeldNotificationReleaser(HeldNotifications held, NotificationOptions options, ILogger<HeldNotificationReleaser> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await held.ReleaseDueAsync(stoppingToken) >= options.HeldReleaseBatchMax) { }
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
