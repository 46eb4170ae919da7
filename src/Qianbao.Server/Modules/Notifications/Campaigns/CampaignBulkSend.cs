using System.Data.Common;
using System.Text.Json;
using Dapper;
using Npgsql;
using Qianbao.Server.Http;
using Qianbao.Server.Storage;

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
/// The set-based send of a campaign's in-app messages on PostgreSQL: one transaction per batch of members, one statement
/// applying in SQL what <see cref="NotificationRules.Decide"/> decides per person for category marketing (the per-person
/// <see cref="Notifier"/> stays the reference; a test runs both on the same population and compares every decision):
/// consent (marketing channels, off until granted) intersected with the campaign's channels, quiet hours in the person's
/// time zone (held: visible and due when they end), the daily (local calendar day) and 7-day caps counted over the person's
/// delivered marketing messages (capped: recorded, sent nowhere), the inbox number taken from the person's settings row
/// (locked by the update, as the notifier does, so caps and numbering hold against concurrent notifications), and the
/// campaign's dedupe key; it returns compact decisions, written back as inbox and delivery rows by binary COPY in the same
/// transaction. Members who want SMS or e-mail from this campaign are left to the per-person path (their queues
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

        var p = new
        {
            campaignId, channelMask, from, upto, nowUs, external = ExternalChannels,
            perDay = caps.PerDayMax, perWeek = caps.PerWeekMax, week = (long)NotificationRules.CapWindow.TotalMicroseconds,
            since = nowUs - (long)TimeSpan.FromDays(9).TotalMicroseconds,
            keys = variants.Keys, personal = variants.Personal,
        };
        var prepare = $"""
            -- Every join below is a batch (at most BatchSize people, in user id order) against a table of everyone by its key:
            -- index probes. Without this the planner, which cannot know the size of a just-written campaign's members, hashes
            -- the whole settings table or the campaign's members once per batch (a send quadratic in the audience).
            -- The settings and members are also bounded to the batch's range of user ids, whichever side the planner drives.
            SET LOCAL enable_hashjoin = off;
            SET LOCAL enable_mergejoin = off;
            -- Those disabled joins add a huge cost to every plan, which then crosses JIT's thresholds: compiling the decide
            -- statement took seconds per batch, more than running it.
            SET LOCAL jit = off;
            -- The batch's people (below) stay in memory: about 100 bytes each, 50,000 a batch.
            SET LOCAL work_mem = '32MB';

            """;
        await connection.ExecuteAsync(new CommandDefinition(prepare, p, tx, cancellationToken: ct));

        // Inbox numbers taken and the decisions, compact (no texts), read back to be written by binary COPY below: an INSERT … SELECT inserts row by
        // row through the executor and was 44% of the send; COPY fills pages a batch of rows at a time.
        var decide = $"""
            -- Takes the inbox numbers and locks the settings rows; re-checked under the lock (consent may have changed). People
            -- without settings get the default row already numbered 1, as the notifier's TakeNext does (one write, not an
            -- insert and an update), or, when a concurrent notification just created it, the row numbered on. The members are
            -- the batch's (a range of their primary key) in one of the set-based variants; the two writes of this one statement
            -- see the same snapshot and take disjoint people (with a settings row, without), so never touch the same row.
            WITH taken AS (
                UPDATE notification_settings s SET last_seq = s.last_seq + 1
                FROM messaging_campaign_members m
                WHERE m.campaign_id = @campaignId AND m.user_id >= @from AND m.user_id <= @upto AND m.variant IS NOT NULL
                  AND NOT (m.variant = ANY(@personal::text[]))
                  AND s.user_id = m.user_id AND s.user_id >= @from AND s.user_id <= @upto
                  AND (s.marketing_channels & @channelMask & @external) = 0
                RETURNING s.user_id, m.variant, s.last_seq AS seq, s.marketing_channels AS wanted, s.quiet_enabled, s.quiet_start_min,
                          s.quiet_end_min, s.time_zone
            ), created AS (
                INSERT INTO notification_settings AS s (user_id, last_seq, updated_at_us)
                SELECT m.user_id, 1, @nowUs FROM messaging_campaign_members m
                WHERE m.campaign_id = @campaignId AND m.user_id >= @from AND m.user_id <= @upto AND m.variant IS NOT NULL
                  AND NOT (m.variant = ANY(@personal::text[]))
                  AND NOT EXISTS (SELECT 1 FROM notification_settings x WHERE x.user_id = m.user_id)
                ORDER BY m.user_id
                ON CONFLICT (user_id) DO UPDATE SET last_seq = s.last_seq + 1 WHERE (s.marketing_channels & @channelMask & @external) = 0
                RETURNING s.user_id, s.last_seq, s.marketing_channels, s.quiet_enabled, s.quiet_start_min, s.quiet_end_min, s.time_zone
            ), people AS (
                -- Kept in memory (work_mem above). The variant of someone whose settings were just created: a probe of the
                -- members' primary key per person (a subquery, so that no plan can scan the members once per person).
                SELECT * FROM taken
                UNION ALL
                SELECT c.user_id, (SELECT m.variant FROM messaging_campaign_members m WHERE m.campaign_id = @campaignId AND m.user_id = c.user_id),
                       c.last_seq, c.marketing_channels, c.quiet_enabled, c.quiet_start_min, c.quiet_end_min, c.time_zone
                FROM created c
            ),
            -- The local now once per time zone (a batch has a handful), not once per person.
            zones AS MATERIALIZED (
                SELECT z.time_zone, l.local_now, (extract(hour FROM l.local_now) * 60 + extract(minute FROM l.local_now))::int AS m
                FROM (SELECT DISTINCT time_zone FROM people) z
                CROSS JOIN LATERAL (SELECT (timestamptz 'epoch' + @nowUs * interval '1 microsecond') AT TIME ZONE z.time_zone AS local_now) l
            ), minute AS (
                -- Lateral: each person looks up their zone among the handful (the planner otherwise put the zones outside and
                -- materialised everyone once per zone, spilling to disk).
                SELECT c.*, z.local_now, z.m FROM people c
                CROSS JOIN LATERAL (SELECT z.local_now, z.m FROM zones z WHERE z.time_zone = c.time_zone) z
            ), due AS (
                SELECT x.*, COALESCE(CASE WHEN x.quiet_enabled <> 0 AND x.quiet_start_min <> x.quiet_end_min AND
                        CASE WHEN x.quiet_start_min < x.quiet_end_min THEN x.m >= x.quiet_start_min AND x.m < x.quiet_end_min
                             ELSE x.m >= x.quiet_start_min OR x.m < x.quiet_end_min END
                    THEN (extract(epoch FROM ((CASE WHEN x.m < x.quiet_end_min THEN x.local_now::date ELSE x.local_now::date + 1 END)
                              + x.quiet_end_min * interval '1 minute') AT TIME ZONE x.time_zone) * 1000000)::bigint END, @nowUs) AS due_us,
                    (x.wanted & @channelMask & {1 << (int)NotificationChannel.InApp}) <> 0 AS in_app
                FROM minute x
            )
            SELECT d.user_id, array_position(@keys::text[], d.variant)::int AS variant_no, d.seq, d.wanted, d.due_us,
                   CASE WHEN NOT d.in_app THEN {(short)NotificationStatus.Suppressed}
                        WHEN cap.over THEN {(short)NotificationStatus.Capped}
                        ELSE {(short)NotificationStatus.Inbox} END::smallint AS status
            FROM due d
            CROSS JOIN LATERAL (
                SELECT d.in_app AND (
                       count(*) FILTER (WHERE ((timestamptz 'epoch' + n.visible_at_us * interval '1 microsecond') AT TIME ZONE d.time_zone)::date
                                              = ((timestamptz 'epoch' + d.due_us * interval '1 microsecond') AT TIME ZONE d.time_zone)::date) >= @perDay
                    OR count(*) FILTER (WHERE n.visible_at_us > d.due_us - @week AND n.visible_at_us <= d.due_us) >= @perWeek) AS over
                FROM notifications n
                WHERE d.in_app AND n.user_id = d.user_id AND n.category = {(short)NotificationCategory.Marketing}
                  AND n.status IN ({(short)NotificationStatus.Inbox}, {(short)NotificationStatus.NotInInbox}) AND n.visible_at_us > @since
            ) cap
            """;
        var pg = (NpgsqlConnection)connection;
        var decisions = new List<BulkDecision>(batchSize);
        await using (var command = new NpgsqlCommand(decide, pg, (NpgsqlTransaction)tx))
        {
            command.Parameters.AddWithValue("nowUs", nowUs);
            command.Parameters.AddWithValue("channelMask", channelMask);
            command.Parameters.AddWithValue("keys", variants.Keys);
            command.Parameters.AddWithValue("perDay", caps.PerDayMax);
            command.Parameters.AddWithValue("perWeek", caps.PerWeekMax);
            command.Parameters.AddWithValue("week", p.week);
            command.Parameters.AddWithValue("since", p.since);
            command.Parameters.AddWithValue("from", from);
            command.Parameters.AddWithValue("upto", upto);
            command.Parameters.AddWithValue("external", ExternalChannels);
            command.Parameters.AddWithValue("campaignId", campaignId);
            command.Parameters.AddWithValue("personal", variants.Personal);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                // A member's variant is one of the campaign's (start assigns them from its definition); were it not, the
                // inbox number just taken would leave a gap: refuse the batch instead.
                var variantNo = reader.IsDBNull(1) ? throw new InvalidOperationException($"campaign {campaignId}: a member's variant is not the campaign's") : reader.GetInt32(1) - 1;
                decisions.Add(new BulkDecision(reader.GetGuid(0), variantNo, reader.GetInt64(2), reader.GetInt32(3), reader.GetInt64(4), reader.GetInt16(5)));
            }
        }

        // Notification ids are UUIDv7 like the notifier's (time-ordered: the inbox's primary key grows at its right edge): the
        // batch's millisecond and 74 random bits once, then counting up in the COPY's order (RFC 9562's monotonic counter
        // method), so the batch's ids are neighbours in the primary key instead of scattered over its right edge.
        var ids = new BulkIds(nowUs);
        var dedupe = CampaignSender.DedupeKey(campaignId);
        // Encoded here (BinaryCopyRows) and sent as a raw binary COPY: per row only the person's own fields are encoded, the
        // campaign's constants and each variant's texts are copied as bytes encoded once.
        var perVariant = new byte[variants.Keys.Length][];
        for (var v = 0; v < perVariant.Length; v++)
        {
            var variantNo = v;
            perVariant[v] = BinaryCopyRows.Constant(c =>
            {
                c.Short((short)NotificationCategory.Marketing);
                c.Text("campaign");
                c.Text(dedupe);
                c.Uuid(campaignId);
                c.Int64(nowUs);
                c.Text(variants.Titles[variantNo]);
                c.Text(variants.Bodies[variantNo]);
                c.Text(variants.Actions[variantNo]);
                c.Text(variants.Keys[variantNo]);
            });
        }
        var published = new List<Guid>();
        var rows = new Guid[decisions.Count];
        var copy = new BinaryCopyRows();
        await using (var stream = await pg.BeginRawBinaryCopyAsync("""
            COPY notifications (id, user_id, seq, status, visible_at_us, release_pending,
                                category, type, dedupe_key, campaign_id, created_at_us, title, body, action, variant) FROM STDIN (FORMAT BINARY)
            """, ct))
        {
            for (var i = 0; i < decisions.Count; i++)
            {
                var d = decisions[i];
                var inboxNow = d.Status == (short)NotificationStatus.Inbox && d.DueUs <= nowUs;
                copy.Row(15);
                copy.Uuid(rows[i] = ids.Next());
                copy.Uuid(d.UserId);
                copy.Int64(d.Seq);
                copy.Short(d.Status);
                copy.Int64(d.DueUs);
                // Held by quiet hours: HeldNotifications releases (and signals) it when they end.
                copy.Short((short)(d.Status == (short)NotificationStatus.Inbox && !inboxNow ? 1 : 0));
                copy.Bytes(perVariant[d.VariantNo]);
                // Open streams on every process learn of their new message at commit (the stream's LISTEN).
                if (inboxNow) published.Add(d.UserId);
                await copy.SendIfFullAsync(stream, ct);
            }
            copy.End();
            await copy.SendAsync(stream, ct);
        }

        // One row per channel the person wants: in-app decided above; a channel this campaign does not use is unavailable.
        await using (var stream = await pg.BeginRawBinaryCopyAsync(
            "COPY notification_deliveries (notification_id, channel, decision, due_at_us) FROM STDIN (FORMAT BINARY)", ct))
        {
            copy = new BinaryCopyRows();
            for (var i = 0; i < decisions.Count; i++)
            {
                var d = decisions[i];
                for (short channel = 0; channel <= 2; channel++)
                {
                    if ((d.Wanted & (1 << channel)) == 0) continue;
                    var decision = (channelMask & (1 << channel)) == 0 ? DeliveryDecision.Unavailable
                        : d.Status == (short)NotificationStatus.Capped ? DeliveryDecision.Capped
                        : d.DueUs > nowUs ? DeliveryDecision.Held
                        : DeliveryDecision.Now;
                    copy.Row(4);
                    copy.Uuid(rows[i]);
                    copy.Short(channel);
                    copy.Short((short)decision);
                    copy.Int64(d.DueUs);
                }
                await copy.SendIfFullAsync(stream, ct);
            }
            copy.End();
            await copy.SendAsync(stream, ct);
        }

        var finish = $"""
            -- The range's mark: this batch's last member.
            UPDATE messaging_campaign_send_ranges SET sent_through = @upto WHERE campaign_id = @campaignId AND range_no = @rangeNo;
            SELECT count(pg_notify('{NotificationFeed.PgChannel}', u::text)) FROM unnest(@published::uuid[]) AS u;
            """;
        await connection.ExecuteScalarAsync<long>(new CommandDefinition(finish, new { campaignId, rangeNo, upto, published = published.ToArray() }, tx, cancellationToken: ct));
        return new BulkBatch(decisions.Count, upto == r.Last);
    }
}

/// <summary>One member's decision as the set-based send reads it back (texts left out: the variant's number).</summary>
internal readonly record struct BulkDecision(Guid UserId, int VariantNo, long Seq, int Wanted, long DueUs, short Status);

/// <summary>
/// UUIDv7 ids for one batch (RFC 9562 §6.2, method 2: a random start incremented per id): the batch's Unix millisecond, the
/// version and variant bits, and 74 further bits starting at a random value whose top bits are clear so that a batch's
/// increments cannot carry into the variant bits. Unique across batches and processes as random v7 ids are (two batches of
/// the same millisecond would need their random starts within a batch's length of each other in 2^73).
/// </summary>
internal sealed class BulkIds
{
    private readonly ulong high;
    private ulong low;

    public BulkIds(long nowUs)
    {
        var ms = (ulong)(nowUs / 1000);
        Span<byte> random = stackalloc byte[10];
        System.Security.Cryptography.RandomNumberGenerator.Fill(random);
        // high: 48 bits of milliseconds, version 7, 12 random bits.
        high = (ms << 16) | 0x7000UL | (System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(random) & 0x0FFFUL);
        // low: variant 10, then 62 bits, of which the top one is kept clear (room for 2^61 increments).
        low = 0x8000_0000_0000_0000UL | (System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(random[2..]) & 0x1FFF_FFFF_FFFF_FFFFUL);
    }

    public Guid Next()
    {
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, high);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], low++);
        return new Guid(bytes, bigEndian: true);
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
