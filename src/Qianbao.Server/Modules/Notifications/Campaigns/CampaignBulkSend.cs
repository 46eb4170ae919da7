using System.Data.Common;
using System.Text.Json;
using Dapper;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>A campaign's texts per variant, as the set-based send passes them to PostgreSQL (parallel arrays).</summary>
/// <param name="Personal">The keys of variants rendered per recipient (their texts use the person's data): left to the per-person path.</param>
internal sealed record BulkVariants(string[] Keys, string[] Titles, string[] Bodies, string?[] Actions, string[] Personal)
{
    /// <param name="definition">With its texts already rendered (those of <paramref name="personal"/> variants are not used).</param>
    public static BulkVariants Of(CampaignDefinition definition, string[]? personal = null) => new(
        definition.Variants.Select(v => v.Key!).ToArray(),
        definition.Variants.Select(v => v.Title!).ToArray(),
        definition.Variants.Select(v => v.Body!).ToArray(),
        definition.Variants.Select(v => CampaignDefinition.ToAction(v.Action) is { } a ? JsonSerializer.Serialize(a, JsonDefaults.Options) : null).ToArray(),
        personal ?? []);
}

/// <summary>
/// The set-based send of a campaign's in-app messages on PostgreSQL: one transaction per batch of members, a few statements
/// each, applying in SQL what <see cref="NotificationRules.Decide"/> decides per person for category marketing (the per-person
/// <see cref="Notifier"/> stays the reference; a test runs both on the same population and compares every decision):
/// consent (marketing channels, off until granted) intersected with the campaign's channels, quiet hours in the person's
/// time zone (held: visible and due when they end), the daily (local calendar day) and 7-day caps counted over the person's
/// delivered marketing messages (capped: recorded, sent nowhere), the inbox number taken from the person's settings row
/// (locked by the update, as the notifier does, so caps and numbering hold against concurrent notifications), and the
/// campaign's dedupe key. Members who want SMS or e-mail from this campaign are left to the per-person path (their queues
/// need contacts that Identity owns); a campaign sends no marketing from a merchant, so the sender blocks do not apply.
/// The members are split at start into <see cref="Ranges"/> ranges of user ids (messaging_campaign_send_ranges); a batch
/// takes its range's row lock (one sender per range at a time, in any process), walks the members after the range's mark and
/// moves the mark in the same transaction: a crash anywhere resumes after the last committed batch, without notifying anyone
/// twice (and the inbox's unique dedupe key would refuse a second message). The members themselves are only read.
/// </summary>
/// <summary>One batch of the set-based send: the members it took, and whether its range is done.</summary>
internal readonly record struct BulkBatch(int Taken, bool Done);

internal static class CampaignBulkSend
{
    public const int BatchSize = 50_000;

    /// <summary>Ranges a campaign's members are split into at start: sent in parallel, one connection each (2 cores here).</summary>
    public const int Ranges = 2;

    private const int ExternalChannels = (1 << (int)NotificationChannel.Sms) | (1 << (int)NotificationChannel.Email);

    /// <summary>Whether the set-based path leaves nobody to the per-person path: no personal variant and no SMS or e-mail.</summary>
    public static bool CoversEveryone(BulkVariants variants, int channelMask) => variants.Personal.Length == 0 && (channelMask & ExternalChannels) == 0;

    /// <summary>
    /// The campaign's send ranges over <paramref name="sortedUserIds"/> (in PostgreSQL's uuid order): about equal numbers of
    /// members each, the first from the smallest uuid and the last to the largest, so together they cover every member.
    /// </summary>
    public static List<(short RangeNo, Guid First, Guid Last)> SplitRanges(IReadOnlyList<Guid> sortedUserIds)
    {
        var count = Math.Max(1, Math.Min(Ranges, sortedUserIds.Count));
        var ranges = new List<(short, Guid, Guid)>(count);
        for (var r = 0; r < count; r++)
        {
            var first = r == 0 ? UInt128.MinValue : UuidOrder.Key(sortedUserIds[r * sortedUserIds.Count / count]);
            var last = r == count - 1 ? UInt128.MaxValue : UuidOrder.Key(sortedUserIds[(r + 1) * sortedUserIds.Count / count]) - 1;
            ranges.Add(((short)r, UuidOrder.FromKey(first), UuidOrder.FromKey(last)));
        }
        return ranges;
    }

    /// <summary>
    /// Sends the next batch of range <paramref name="rangeNo"/>: the next <paramref name="batchSize"/> members after its mark
    /// (a range of the primary key); returns how many of them it took (the others are the holdout or left to the per-person
    /// path) and whether the range is done.
    /// </summary>
    public static async Task<BulkBatch> SendBatchAsync(DbConnection connection, DbTransaction tx, Guid campaignId, short rangeNo, BulkVariants variants,
        int channelMask, long nowUs, MarketingCaps caps, int batchSize, CancellationToken ct)
    {
        // The range's row lock: whoever sends this range next (another process's scheduler, or a second sender here) waits
        // for this batch's commit and then reads the mark it moved.
        var range = await connection.QuerySingleOrDefaultAsync<(Guid First, Guid Last, Guid? SentThrough)?>(new CommandDefinition("""
            SELECT first_user_id, last_user_id, sent_through FROM messaging_campaign_send_ranges
            WHERE campaign_id = @campaignId AND range_no = @rangeNo FOR UPDATE
            """, new { campaignId, rangeNo }, tx, cancellationToken: ct));
        if (range is not { } r || r.SentThrough == r.Last) return new BulkBatch(0, true);
        var from = r.SentThrough is { } mark ? UuidOrder.FromKey(UuidOrder.Key(mark) + 1) : r.First;
        // The batch's last member: walking the primary key in order from the mark (forced: right after start the members have
        // no statistics, and the planner would read the whole range by a bitmap and sort it).
        var upto = await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("""
            SET LOCAL enable_bitmapscan = off;
            SET LOCAL enable_sort = off;
            SELECT user_id FROM messaging_campaign_members WHERE campaign_id = @campaignId AND user_id >= @from AND user_id <= @last
            ORDER BY user_id OFFSET @skip LIMIT 1;
            SET LOCAL enable_bitmapscan = on;
            SET LOCAL enable_sort = on;
            """, new { campaignId, from, last = r.Last, skip = batchSize - 1 }, tx, cancellationToken: ct)) ?? r.Last;

        // Notification ids are UUIDv7 like the notifier's (time-ordered: the inbox's primary key grows at its right edge): the
        // batch's millisecond and the version nibble as a text prefix, the rest of one gen_random_uuid() per row (its variant
        // bits are already RFC 4122's). One random uuid and one text cast per row instead of two uuids and byte surgery.
        var idPrefix = (nowUs / 1000).ToString("x12");
        var p = new
        {
            idPrefix = idPrefix[..8] + "-" + idPrefix[8..] + "-7", rangeNo,
            campaignId, channelMask, from, upto, nowUs, batchSize, external = ExternalChannels, dedupe = CampaignSender.DedupeKey(campaignId),
            perDay = caps.PerDayMax, perWeek = caps.PerWeekMax, week = (long)NotificationRules.CapWindow.TotalMicroseconds,
            since = nowUs - (long)TimeSpan.FromDays(9).TotalMicroseconds,
            keys = variants.Keys, titles = variants.Titles, bodies = variants.Bodies, actions = variants.Actions, personal = variants.Personal,
        };
        var sql = $"""
            -- Every join below is a batch (at most BatchSize people, in user id order) against a table of everyone by its key:
            -- index probes. Without this the planner, which cannot know the size of fresh temporary tables and members, hashes
            -- the whole settings table or the campaign's members once per batch (a send quadratic in the audience).
            -- The settings and members are also bounded to the batch's range of user ids, whichever side the planner drives.
            SET LOCAL enable_hashjoin = off;
            SET LOCAL enable_mergejoin = off;
            -- Those disabled joins add a huge cost to every plan, which then crosses JIT's thresholds: compiling the decide
            -- statement took seconds per batch, more than running it.
            SET LOCAL jit = off;

            CREATE TEMP TABLE campaign_pick (user_id uuid PRIMARY KEY, variant text NOT NULL, has_settings boolean NOT NULL) ON COMMIT DROP;
            INSERT INTO campaign_pick
            SELECT m.user_id, m.variant, s.user_id IS NOT NULL FROM messaging_campaign_members m
            LEFT JOIN notification_settings s ON s.user_id = m.user_id
            WHERE m.campaign_id = @campaignId AND m.user_id >= @from AND m.user_id <= @upto AND m.variant IS NOT NULL
              AND NOT (m.variant = ANY(@personal::text[]))
              AND (COALESCE(s.marketing_channels, 0) & @channelMask & @external) = 0;

            CREATE TEMP TABLE campaign_people ON COMMIT DROP AS
            SELECT NULL::uuid AS user_id, NULL::text AS variant, 0::bigint AS seq, 0::int AS wanted, 0::int AS quiet_enabled,
                   0 AS quiet_start_min, 0 AS quiet_end_min, ''::text AS time_zone WITH NO DATA;
            -- Takes the inbox numbers and locks the settings rows; re-checked under the lock (consent may have changed). People
            -- without settings get the default row already numbered 1, as the notifier's TakeNext does (one write, not an
            -- insert and an update), or, when a concurrent notification just created it, the row numbered on.
            WITH taken AS (
                UPDATE notification_settings s SET last_seq = s.last_seq + 1
                FROM campaign_pick k
                WHERE k.has_settings AND s.user_id = k.user_id AND (s.marketing_channels & @channelMask & @external) = 0
                  AND s.user_id >= @from AND s.user_id <= @upto
                RETURNING s.user_id, k.variant, s.last_seq, s.marketing_channels, s.quiet_enabled, s.quiet_start_min, s.quiet_end_min, s.time_zone)
            INSERT INTO campaign_people SELECT user_id, variant, last_seq, marketing_channels, quiet_enabled, quiet_start_min, quiet_end_min, time_zone FROM taken;
            WITH created AS (
                INSERT INTO notification_settings AS s (user_id, last_seq, updated_at_us)
                SELECT user_id, 1, @nowUs FROM campaign_pick WHERE NOT has_settings ORDER BY user_id
                ON CONFLICT (user_id) DO UPDATE SET last_seq = s.last_seq + 1 WHERE (s.marketing_channels & @channelMask & @external) = 0
                RETURNING s.user_id, s.last_seq, s.marketing_channels, s.quiet_enabled, s.quiet_start_min, s.quiet_end_min, s.time_zone)
            INSERT INTO campaign_people SELECT c.user_id, k.variant, c.last_seq, c.marketing_channels, c.quiet_enabled, c.quiet_start_min, c.quiet_end_min, c.time_zone
            FROM created c JOIN campaign_pick k ON k.user_id = c.user_id;

            CREATE TEMP TABLE campaign_decided ON COMMIT DROP AS
            -- The local now once per time zone (a batch has a handful), not once per person.
            WITH zones AS MATERIALIZED (
                SELECT z.time_zone, l.local_now, (extract(hour FROM l.local_now) * 60 + extract(minute FROM l.local_now))::int AS m
                FROM (SELECT DISTINCT time_zone FROM campaign_people) z
                CROSS JOIN LATERAL (SELECT (timestamptz 'epoch' + @nowUs * interval '1 microsecond') AT TIME ZONE z.time_zone AS local_now) l
            ), minute AS (
                SELECT c.*, z.local_now, z.m FROM campaign_people c JOIN zones z ON z.time_zone = c.time_zone
            ), due AS (
                SELECT x.*, COALESCE(CASE WHEN x.quiet_enabled <> 0 AND x.quiet_start_min <> x.quiet_end_min AND
                        CASE WHEN x.quiet_start_min < x.quiet_end_min THEN x.m >= x.quiet_start_min AND x.m < x.quiet_end_min
                             ELSE x.m >= x.quiet_start_min OR x.m < x.quiet_end_min END
                    THEN (extract(epoch FROM ((CASE WHEN x.m < x.quiet_end_min THEN x.local_now::date ELSE x.local_now::date + 1 END)
                              + x.quiet_end_min * interval '1 minute') AT TIME ZONE x.time_zone) * 1000000)::bigint END, @nowUs) AS due_us,
                    (x.wanted & @channelMask & {1 << (int)NotificationChannel.InApp}) <> 0 AS in_app
                FROM minute x
            )
            SELECT d.user_id, d.variant, d.seq, d.wanted, d.due_us,
                   CASE WHEN NOT d.in_app THEN {(short)NotificationStatus.Suppressed}
                        WHEN cap.over THEN {(short)NotificationStatus.Capped}
                        ELSE {(short)NotificationStatus.Inbox} END::smallint AS status,
                   (@idPrefix || substr(gen_random_uuid()::text, 16))::uuid AS id
            FROM due d
            CROSS JOIN LATERAL (
                SELECT d.in_app AND (
                       count(*) FILTER (WHERE ((timestamptz 'epoch' + n.visible_at_us * interval '1 microsecond') AT TIME ZONE d.time_zone)::date
                                              = ((timestamptz 'epoch' + d.due_us * interval '1 microsecond') AT TIME ZONE d.time_zone)::date) >= @perDay
                    OR count(*) FILTER (WHERE n.visible_at_us > d.due_us - @week AND n.visible_at_us <= d.due_us) >= @perWeek) AS over
                FROM notifications n
                WHERE d.in_app AND n.user_id = d.user_id AND n.category = {(short)NotificationCategory.Marketing}
                  AND n.status IN ({(short)NotificationStatus.Inbox}, {(short)NotificationStatus.NotInInbox}) AND n.visible_at_us > @since
            ) cap;

            INSERT INTO notifications (id, user_id, seq, category, type, dedupe_key, status, title, body, action, campaign_id, variant,
                                       sender_merchant_id, visible_at_us, created_at_us, release_pending)
            -- The variants materialised once: joined by a nested loop (hash joins are off), an unnest would run again for every row.
            WITH v AS MATERIALIZED (SELECT * FROM unnest(@keys::text[], @titles::text[], @bodies::text[], @actions::text[]) AS v(key, title, body, action))
            SELECT d.id, d.user_id, d.seq, {(short)NotificationCategory.Marketing}, 'campaign', @dedupe, d.status, v.title, v.body, v.action,
                   @campaignId, d.variant, NULL, d.due_us, @nowUs,
                   CASE WHEN d.status = {(short)NotificationStatus.Inbox} AND d.due_us > @nowUs THEN 1 ELSE 0 END::smallint
            FROM campaign_decided d
            JOIN v ON v.key = d.variant;

            -- One row per channel the person wants: in-app decided above; a channel this campaign does not use is unavailable.
            INSERT INTO notification_deliveries (notification_id, channel, decision, due_at_us)
            SELECT d.id, ch.c,
                   CASE WHEN (@channelMask & (1 << ch.c)) = 0 THEN {(short)DeliveryDecision.Unavailable}
                        WHEN d.status = {(short)NotificationStatus.Capped} THEN {(short)DeliveryDecision.Capped}
                        WHEN d.due_us > @nowUs THEN {(short)DeliveryDecision.Held}
                        ELSE {(short)DeliveryDecision.Now} END::smallint,
                   d.due_us
            FROM campaign_decided d
            CROSS JOIN (VALUES (0::smallint), (1::smallint), (2::smallint)) AS ch(c)
            WHERE (d.wanted & (1 << ch.c)) <> 0;

            -- The range's mark: this batch's last member.
            UPDATE messaging_campaign_send_ranges SET sent_through = @upto WHERE campaign_id = @campaignId AND range_no = @rangeNo;

            -- Open streams on every process learn of their new message at commit (the stream's LISTEN).
            -- (Held ones are signalled when HeldNotifications releases them.)
            SELECT count(pg_notify('{NotificationFeed.PgChannel}', user_id::text)) FROM campaign_decided
            WHERE status = {(short)NotificationStatus.Inbox} AND due_us <= @nowUs;
            SELECT count(*)::int FROM campaign_pick;
            """;
        using var results = await connection.QueryMultipleAsync(new CommandDefinition(sql, p, tx, cancellationToken: ct));
        await results.ReadAsync<long>(); // the notifications published
        return new BulkBatch(await results.ReadSingleAsync<int>(), upto == r.Last);
    }
}

/// <summary>
/// PostgreSQL's order of uuids (their 16 bytes compared in the order they are written) as 128-bit numbers: for sorting the
/// members before they are written, so that a batch (a range of the primary key) is a run of neighbouring pages, and for
/// the ranges' bounds.
/// </summary>
internal static class UuidOrder
{
    public static UInt128 Key(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    public static Guid FromKey(UInt128 key)
    {
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>The list sorted by <see cref="Key"/>.</summary>
    public static List<T> Sorted<T>(IReadOnlyList<T> items, Func<T, Guid> id)
    {
        var keys = new UInt128[items.Count];
        var sorted = new T[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            keys[i] = Key(id(items[i]));
            sorted[i] = items[i];
        }
        Array.Sort(keys, sorted);
        return [.. sorted];
    }
}
