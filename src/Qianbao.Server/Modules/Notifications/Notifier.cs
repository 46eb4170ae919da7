using System.ComponentModel.DataAnnotations;
using System.Data.Common;
using System.Text.Json;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;

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
    NotificationFeed feed, Storage.Db db)
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

    /// <summary>
    /// <see cref="NotifyAsync"/> for a batch, in one transaction, with the same decisions, numbers, rows and deliveries, but a
    /// statement per step for the whole batch instead of per notification: the dedupe probe, the settings rows (each person's
    /// numbers taken at once), the contacts (a phone opened only where SMS is wanted), the operators' templates, the inserts
    /// of notifications and deliveries (multi-row on PostgreSQL; in process on SQLite, one per row), and the feed's signal.
    /// Only security and transaction notifications are batched: they are never held, capped or blocked, so nothing one of
    /// them decides depends on another of the batch. A batch with any other category, or the same fact twice, goes one by one.
    /// </summary>
    /// <param name="probe">
    /// False when the caller knows no notification of these facts can be stored yet (an event batch whose checkpoint commits
    /// in this transaction and that may not repeat): the dedupe probe is skipped, and on PostgreSQL the notifications and
    /// their deliveries are written by binary COPY. A fact that was stored after all is still never notified twice: on SQLite
    /// the insert's <c>ON CONFLICT</c> and the winner's read below skip it (leaving a gap in the person's inbox numbers), on
    /// PostgreSQL the COPY fails on the unique key and the transaction with it.
    /// </param>
    public async Task<IReadOnlyList<NotifyResult>> NotifyManyAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<NotificationRequest> requests,
        CancellationToken ct, bool probe = true)
    {
        var results = new NotifyResult[requests.Count];
        if (requests.Any(r => r.Category is not (NotificationCategory.Security or NotificationCategory.Transaction))
            || requests.Select(r => (r.UserId, r.DedupeKey)).Distinct().Count() != requests.Count)
        {
            for (var i = 0; i < requests.Count; i++) results[i] = await NotifyAsync(connection, tx, requests[i], ct);
            return results;
        }
        foreach (var request in requests)
        {
            if (request.DedupeKey.Length is 0 or > DedupeKeyLengthMax) throw new ArgumentException("dedupe key must be 1..200 characters", nameof(requests));
            if (request.Type.Length is 0 or > TypeLengthMax) throw new ArgumentException("type must be 1..64 characters", nameof(requests));
        }

        var existing = probe ? await ExistingAsync(connection, tx, requests, ct) : [];
        var fresh = new List<int>(requests.Count);
        for (var i = 0; i < requests.Count; i++)
        {
            if (existing.TryGetValue((requests[i].UserId, requests[i].DedupeKey), out var e)) results[i] = new NotifyResult(e.Id, false, (NotificationStatus)e.Status);
            else fresh.Add(i);
        }
        if (fresh.Count == 0) return results;

        var now = clock.GetUtcNow();
        var nowUs = now.ToUnixMicroseconds();
        var counts = fresh.GroupBy(i => requests[i].UserId).ToDictionary(g => g.Key, g => g.Count());
        var settings = await NotificationSettings.TakeManyAsync(connection, tx, db.Engine, counts, nowUs, ct);
        var smsWanted = fresh.Where(i => NotificationPreferences.Has(settings[requests[i].UserId].Preferences.ChannelsOf(requests[i].Category), NotificationChannel.Sms))
            .Select(i => requests[i].UserId).ToHashSet();
        var contacts = await users.ContactsAsync(connection, tx, counts.Keys, smsWanted, ct);
        var saved = await TemplateStore.FindManyAsync(connection, tx,
            fresh.Where(i => requests[i].Title is null || requests[i].Body is null).Select(i => requests[i].Type).Distinct().ToList(), ct);

        var taken = new Dictionary<Guid, int>();
        var rows = new List<(int Index, Guid Id, long Seq, NotificationPlan Plan, string Locale, string Title, string Body)>(fresh.Count);
        foreach (var i in fresh)
        {
            var request = requests[i];
            var mine = settings[request.UserId];
            var contact = contacts.GetValueOrDefault(request.UserId);
            var available = new HashSet<NotificationChannel> { NotificationChannel.InApp };
            var wanted = mine.Preferences.ChannelsOf(request.Category);
            foreach (var (channel, queue) in queues)
                if (NotificationPreferences.Has(wanted, channel) && await queue.ReachesAsync(connection, tx, request.UserId, contact is not null, ct)) available.Add(channel);
            if (request.Channels is { } only) available.IntersectWith(only);
            var plan = NotificationRules.Decide(new NotificationContext(request.Category, mine.Preferences, nowUs, [],
                new MarketingCaps(options.MarketingPerDayMax, options.MarketingPerWeekMax), available));
            var locale = NotificationTemplates.Supported(mine.Locale ?? contact?.Locale);
            var rendered = request.Title is null || request.Body is null ? TemplateStore.Render(saved, request.Type, locale, request.Variables) : null;
            // The person's numbers, in the batch's order: the last one taken is the row's last_seq.
            var k = taken[request.UserId] = taken.GetValueOrDefault(request.UserId) + 1;
            var seq = mine.Seq - counts[request.UserId] + k;
            rows.Add((i, Guid.CreateVersion7(now), seq, plan, locale, request.Title ?? rendered?.Title ?? request.Type, request.Body ?? rendered?.Body ?? ""));
        }

        // A batch that cannot repeat (no probe) has none of its facts stored: on PostgreSQL its rows go by binary COPY, which
        // skips the speculative insertion that ON CONFLICT costs per row and the parameter arrays. Were a fact stored after
        // all, the unique (user_id, dedupe_key) fails the COPY and the whole transaction (a repeat is never notified, and the
        // subscriber's retry has MayRepeat set, so it probes and inserts with ON CONFLICT).
        var copy = !probe && db.Engine == Storage.DatabaseEngine.Postgres;
        var inserted = copy ? await CopyManyAsync(connection, requests, rows, nowUs, ct) : await InsertManyAsync(connection, tx, requests, rows, nowUs, ct);
        var deliveries = new List<(Guid Id, NotificationChannel Channel, DeliveryDecision Decision, long DueUs)>();
        var signalled = new HashSet<Guid>();
        foreach (var row in rows)
        {
            var request = requests[row.Index];
            if (!inserted.Contains(row.Id))
            {
                // Inserted meanwhile by a concurrent transaction for the same fact: that one stands.
                var winner = await connection.QuerySingleAsync<(Guid Id, short Status)>(new CommandDefinition(
                    "SELECT id, status FROM notifications WHERE user_id = @UserId AND dedupe_key = @DedupeKey",
                    new { request.UserId, request.DedupeKey }, tx, cancellationToken: ct));
                results[row.Index] = new NotifyResult(winner.Id, false, (NotificationStatus)winner.Status);
                continue;
            }
            results[row.Index] = new NotifyResult(row.Id, true, row.Plan.Status);
            foreach (var (channel, decision) in row.Plan.Channels) deliveries.Add((row.Id, channel, decision, row.Plan.DueAtUs));
            if (row.Plan.Status == NotificationStatus.Inbox && row.Plan.DueAtUs <= nowUs) signalled.Add(request.UserId);
        }
        if (copy) await CopyDeliveriesAsync(connection, deliveries, ct);
        else await InsertDeliveriesAsync(connection, tx, deliveries, ct);
        foreach (var row in rows.Where(r => inserted.Contains(r.Id)))
        {
            var request = requests[row.Index];
            foreach (var channel in row.Plan.Channels.Keys)
            {
                if (channel == NotificationChannel.InApp || !row.Plan.Queues(channel)) continue;
                await queues[channel].QueueAsync(connection, tx,
                    new NotificationDelivery(row.Id, request.UserId, request.Category, request.Type, row.Locale, row.Title, row.Body,
                        contacts.GetValueOrDefault(request.UserId)?.Phone, row.Plan.DueAtUs, request.Action, request.SenderMerchantId, request.CampaignId,
                        request.EmailSubject), ct);
            }
        }
        await feed.PublishManyAsync(connection, tx, signalled, ct);
        return results;
    }

    /// <summary>The notifications already there for the batch's (person, fact) pairs: one read.</summary>
    private async Task<Dictionary<(Guid UserId, string DedupeKey), (Guid Id, short Status)>> ExistingAsync(DbConnection connection, DbTransaction tx,
        IReadOnlyList<NotificationRequest> requests, CancellationToken ct)
    {
        var wanted = requests.Select(r => (r.UserId, r.DedupeKey)).ToHashSet();
        if (db.Engine == Storage.DatabaseEngine.Postgres)
        {
            // A probe of the (user_id, dedupe_key) unique index per pair, whatever plan the prepared statement settles on:
            // `user_id = ANY(..) AND dedupe_key = ANY(..)` went to a generic plan made while the table was small, a
            // sequential scan of every notification per batch (about 150 rows read per transfer in a 12 s bench run).
            var pairs = wanted.ToList();
            var found = await connection.QueryAsync<(Guid UserId, string DedupeKey, Guid Id, short Status)>(new CommandDefinition("""
                SELECT n.user_id, n.dedupe_key, n.id, n.status FROM unnest(@users::uuid[], @keys::text[]) AS u(user_id, dedupe_key)
                CROSS JOIN LATERAL (SELECT user_id, dedupe_key, id, status FROM notifications
                                    WHERE user_id = u.user_id AND dedupe_key = u.dedupe_key LIMIT 1) n
                """, new { users = pairs.Select(p => p.UserId).ToArray(), keys = pairs.Select(p => p.DedupeKey).ToArray() }, tx, cancellationToken: ct));
            return found.ToDictionary(r => (r.UserId, r.DedupeKey), r => (r.Id, r.Status));
        }
        var (inUsers, ids) = db.IdIn("user_id", requests.Select(r => r.UserId).Distinct());
        var keys = requests.Select(r => r.DedupeKey).Distinct().ToArray();
        var rows = await connection.QueryAsync<(Guid UserId, string DedupeKey, Guid Id, short Status)>(new CommandDefinition(
            $"SELECT user_id, dedupe_key, id, status FROM notifications WHERE {inUsers} AND dedupe_key IN (SELECT value FROM json_each(@keys))",
            new { ids, keys = JsonSerializer.Serialize(keys) }, tx, cancellationToken: ct));
        return rows.Where(r => wanted.Contains((r.UserId, r.DedupeKey))).ToDictionary(r => (r.UserId, r.DedupeKey), r => (r.Id, r.Status));
    }

    private const string InsertColumns = """
        id, user_id, seq, category, type, dedupe_key, status, title, body, action, campaign_id, variant, sender_merchant_id, visible_at_us, created_at_us,
        release_pending
        """;

    /// <summary>Inserts the rows (a conflicting fact is skipped); answers the ids inserted.</summary>
    private async Task<HashSet<Guid>> InsertManyAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<NotificationRequest> requests,
        List<(int Index, Guid Id, long Seq, NotificationPlan Plan, string Locale, string Title, string Body)> rows, long nowUs, CancellationToken ct)
    {
        string? ActionOf(NotificationRequest r) => r.Action is null ? null : JsonSerializer.Serialize(r.Action, JsonDefaults.Options);
        // Held for the inbox: HeldNotifications releases it when due (never for these categories today; kept as NotifyAsync has it).
        short PendingOf(NotificationPlan p) => (short)(p.Status == NotificationStatus.Inbox && p.DueAtUs > nowUs ? 1 : 0);
        if (db.Engine == Storage.DatabaseEngine.Postgres)
        {
            var ids = await connection.QueryAsync<Guid>(new CommandDefinition($"""
                INSERT INTO notifications ({InsertColumns})
                SELECT * FROM unnest(@ids::uuid[], @users::uuid[], @seqs::bigint[], @categories::smallint[], @types::text[], @keys::text[], @statuses::smallint[],
                                     @titles::text[], @bodies::text[], @actions::text[], @campaigns::uuid[], @variants::text[], @senders::uuid[], @due::bigint[],
                                     @created::bigint[], @pending::smallint[])
                ON CONFLICT (user_id, dedupe_key) DO NOTHING
                RETURNING id
                """, new
            {
                ids = rows.Select(r => r.Id).ToArray(), users = rows.Select(r => requests[r.Index].UserId).ToArray(), seqs = rows.Select(r => r.Seq).ToArray(),
                categories = rows.Select(r => (short)requests[r.Index].Category).ToArray(), types = rows.Select(r => requests[r.Index].Type).ToArray(),
                keys = rows.Select(r => requests[r.Index].DedupeKey).ToArray(), statuses = rows.Select(r => (short)r.Plan.Status).ToArray(),
                titles = rows.Select(r => r.Title).ToArray(), bodies = rows.Select(r => r.Body).ToArray(),
                actions = rows.Select(r => ActionOf(requests[r.Index])).ToArray(), campaigns = rows.Select(r => requests[r.Index].CampaignId).ToArray(),
                variants = rows.Select(r => requests[r.Index].Variant).ToArray(), senders = rows.Select(r => requests[r.Index].SenderMerchantId).ToArray(),
                due = rows.Select(r => r.Plan.DueAtUs).ToArray(), created = rows.Select(_ => nowUs).ToArray(), pending = rows.Select(r => PendingOf(r.Plan)).ToArray(),
            }, tx, cancellationToken: ct));
            return ids.ToHashSet();
        }
        var inserted = new HashSet<Guid>();
        foreach (var r in rows)
        {
            var request = requests[r.Index];
            if (await connection.ExecuteAsync(new CommandDefinition($"""
                    INSERT INTO notifications ({InsertColumns})
                    VALUES (@id, @UserId, @seq, @category, @Type, @DedupeKey, @status, @title, @body, @action, @CampaignId, @Variant,
                            @SenderMerchantId, @due, @nowUs, @pending)
                    ON CONFLICT (user_id, dedupe_key) DO NOTHING
                    """, new
                {
                    id = r.Id, request.UserId, seq = r.Seq, category = (short)request.Category, request.Type, request.DedupeKey, status = (short)r.Plan.Status,
                    title = r.Title, body = r.Body, action = ActionOf(request), request.CampaignId, request.Variant, request.SenderMerchantId,
                    due = r.Plan.DueAtUs, nowUs, pending = PendingOf(r.Plan),
                }, tx, cancellationToken: ct)) == 1)
                inserted.Add(r.Id);
        }
        return inserted;
    }

    /// <summary>
    /// <see cref="InsertManyAsync"/> for rows none of which can be stored yet, by binary COPY (PostgreSQL): all are inserted,
    /// or the statement fails on the unique (user_id, dedupe_key) and with it the transaction. Same columns and values.
    /// </summary>
    private static async Task<HashSet<Guid>> CopyManyAsync(DbConnection connection, IReadOnlyList<NotificationRequest> requests,
        List<(int Index, Guid Id, long Seq, NotificationPlan Plan, string Locale, string Title, string Body)> rows, long nowUs, CancellationToken ct)
    {
        var inserted = new HashSet<Guid>(rows.Count);
        var copy = new BinaryCopyRows();
        await using (var stream = await ((Npgsql.NpgsqlConnection)connection).BeginRawBinaryCopyAsync(
                         $"COPY notifications ({InsertColumns}) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var r in rows)
            {
                var request = requests[r.Index];
                copy.Row(16);
                copy.Uuid(r.Id);
                copy.Uuid(request.UserId);
                copy.Int64(r.Seq);
                copy.Short((short)request.Category);
                copy.Text(request.Type);
                copy.Text(request.DedupeKey);
                copy.Short((short)r.Plan.Status);
                copy.Text(r.Title);
                copy.Text(r.Body);
                copy.Text(request.Action is null ? null : JsonSerializer.Serialize(request.Action, JsonDefaults.Options));
                copy.Uuid(request.CampaignId);
                copy.Text(request.Variant);
                copy.Uuid(request.SenderMerchantId);
                copy.Int64(r.Plan.DueAtUs);
                copy.Int64(nowUs);
                // Held for the inbox: as InsertManyAsync has it.
                copy.Short((short)(r.Plan.Status == NotificationStatus.Inbox && r.Plan.DueAtUs > nowUs ? 1 : 0));
                inserted.Add(r.Id);
                await copy.SendIfFullAsync(stream, ct);
            }
            copy.End();
            await copy.SendAsync(stream, ct);
        }
        return inserted;
    }

    /// <summary><see cref="InsertDeliveriesAsync"/> by binary COPY (PostgreSQL): the notifications are this transaction's, so no row can be there.</summary>
    private static async Task CopyDeliveriesAsync(DbConnection connection, List<(Guid Id, NotificationChannel Channel, DeliveryDecision Decision, long DueUs)> deliveries,
        CancellationToken ct)
    {
        if (deliveries.Count == 0) return;
        var copy = new BinaryCopyRows();
        await using var stream = await ((Npgsql.NpgsqlConnection)connection).BeginRawBinaryCopyAsync(
            "COPY notification_deliveries (notification_id, channel, decision, due_at_us) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var d in deliveries)
        {
            copy.Row(4);
            copy.Uuid(d.Id);
            copy.Short((short)d.Channel);
            copy.Short((short)d.Decision);
            copy.Int64(d.DueUs);
            await copy.SendIfFullAsync(stream, ct);
        }
        copy.End();
        await copy.SendAsync(stream, ct);
    }


    private async Task InsertDeliveriesAsync(DbConnection connection, DbTransaction tx,
        List<(Guid Id, NotificationChannel Channel, DeliveryDecision Decision, long DueUs)> deliveries, CancellationToken ct)
    {
        if (deliveries.Count == 0) return;
        if (db.Engine == Storage.DatabaseEngine.Postgres)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO notification_deliveries (notification_id, channel, decision, due_at_us)
                SELECT * FROM unnest(@ids::uuid[], @channels::smallint[], @decisions::smallint[], @due::bigint[])
                """, new
            {
                ids = deliveries.Select(d => d.Id).ToArray(), channels = deliveries.Select(d => (short)d.Channel).ToArray(),
                decisions = deliveries.Select(d => (short)d.Decision).ToArray(), due = deliveries.Select(d => d.DueUs).ToArray(),
            }, tx, cancellationToken: ct));
            return;
        }
        foreach (var d in deliveries)
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO notification_deliveries (notification_id, channel, decision, due_at_us) VALUES (@id, @channel, @decision, @due)",
                new { id = d.Id, channel = (short)d.Channel, decision = (short)d.Decision, due = d.DueUs }, tx, cancellationToken: ct));
    }
}
