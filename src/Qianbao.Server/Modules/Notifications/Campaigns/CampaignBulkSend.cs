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
/// The members' notification ids are written in the same transaction: a crash anywhere resumes without notifying anyone twice.
/// </summary>
internal static class CampaignBulkSend
{
    public const int BatchSize = 50_000;
    private const int ExternalChannels = (1 << (int)NotificationChannel.Sms) | (1 << (int)NotificationChannel.Email);

    /// <summary>
    /// Sends one batch of the members after <paramref name="after"/> in user id order (null: from the start; a resumed send
    /// starts there too and finds the sent ones by their notification id); returns how many it took (0: none left for this
    /// path) and the last user id, where the next batch starts. Walking the primary key instead of asking the unsent index
    /// again each batch keeps a batch's cost flat: that index fills with the dead entries of the rows each batch updates.
    /// </summary>
    public static async Task<(int Taken, Guid? Last)> SendBatchAsync(DbConnection connection, DbTransaction tx, Guid campaignId, BulkVariants variants,
        int channelMask, long nowUs, MarketingCaps caps, int batchSize, Guid? after, CancellationToken ct)
    {
        var p = new
        {
            campaignId, channelMask, after = after ?? Guid.Empty, nowUs, batchSize, external = ExternalChannels, dedupe = CampaignSender.DedupeKey(campaignId),
            perDay = caps.PerDayMax, perWeek = caps.PerWeekMax, week = (long)NotificationRules.CapWindow.TotalMicroseconds,
            since = nowUs - (long)TimeSpan.FromDays(9).TotalMicroseconds, nowMs = nowUs / 1000,
            keys = variants.Keys, titles = variants.Titles, bodies = variants.Bodies, actions = variants.Actions, personal = variants.Personal,
        };
        var sql = $"""
            CREATE TEMP TABLE campaign_pick (user_id uuid PRIMARY KEY, variant text NOT NULL) ON COMMIT DROP;
            INSERT INTO campaign_pick
            SELECT m.user_id, m.variant FROM messaging_campaign_members m
            LEFT JOIN notification_settings s ON s.user_id = m.user_id
            WHERE m.campaign_id = @campaignId AND m.user_id > @after AND m.variant IS NOT NULL AND m.notification_id IS NULL
              AND NOT (m.variant = ANY(@personal::text[]))
              AND (COALESCE(s.marketing_channels, 0) & @channelMask & @external) = 0
            ORDER BY m.user_id
            LIMIT @batchSize
            FOR UPDATE OF m SKIP LOCKED;

            INSERT INTO notification_settings (user_id, last_seq, updated_at_us)
            SELECT user_id, 0, @nowUs FROM campaign_pick ORDER BY user_id
            ON CONFLICT (user_id) DO NOTHING;

            -- Takes the inbox numbers and locks the settings rows; re-checked under the lock (consent may have changed).
            CREATE TEMP TABLE campaign_people ON COMMIT DROP AS
            SELECT NULL::uuid AS user_id, NULL::text AS variant, 0::bigint AS seq, 0::int AS wanted, 0::int AS quiet_enabled,
                   0 AS quiet_start_min, 0 AS quiet_end_min, ''::text AS time_zone WITH NO DATA;
            WITH taken AS (
                UPDATE notification_settings s SET last_seq = s.last_seq + 1
                FROM campaign_pick k
                WHERE s.user_id = k.user_id AND (s.marketing_channels & @channelMask & @external) = 0
                RETURNING s.user_id, k.variant, s.last_seq, s.marketing_channels, s.quiet_enabled, s.quiet_start_min, s.quiet_end_min, s.time_zone)
            INSERT INTO campaign_people SELECT user_id, variant, last_seq, marketing_channels, quiet_enabled, quiet_start_min, quiet_end_min, time_zone FROM taken;

            CREATE TEMP TABLE campaign_decided ON COMMIT DROP AS
            WITH local AS (
                SELECT c.*, (timestamptz 'epoch' + @nowUs * interval '1 microsecond') AT TIME ZONE c.time_zone AS local_now FROM campaign_people c
            ), minute AS (
                SELECT l.*, (extract(hour FROM l.local_now) * 60 + extract(minute FROM l.local_now))::int AS m FROM local l
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
                   encode(set_byte(overlay(uuid_send(gen_random_uuid()) PLACING substring(int8send(@nowMs) FROM 3 FOR 6) FROM 1 FOR 6), 6,
                          (get_byte(uuid_send(gen_random_uuid()), 6) & 15) | 112), 'hex')::uuid AS id
            FROM due d
            CROSS JOIN LATERAL (
                SELECT d.in_app AND (
                       count(*) FILTER (WHERE ((timestamptz 'epoch' + n.visible_at_us * interval '1 microsecond') AT TIME ZONE d.time_zone)::date
                                              = ((timestamptz 'epoch' + d.due_us * interval '1 microsecond') AT TIME ZONE d.time_zone)::date) >= @perDay
                    OR count(*) FILTER (WHERE n.visible_at_us > d.due_us - @week AND n.visible_at_us <= d.due_us) >= @perWeek) AS over
                FROM notifications n
                WHERE n.user_id = d.user_id AND n.category = {(short)NotificationCategory.Marketing}
                  AND n.status IN ({(short)NotificationStatus.Inbox}, {(short)NotificationStatus.NotInInbox}) AND n.visible_at_us > @since
            ) cap;

            INSERT INTO notifications (id, user_id, seq, category, type, dedupe_key, status, title, body, action, campaign_id, variant,
                                       sender_merchant_id, visible_at_us, created_at_us, release_pending)
            SELECT d.id, d.user_id, d.seq, {(short)NotificationCategory.Marketing}, 'campaign', @dedupe, d.status, v.title, v.body, v.action,
                   @campaignId, d.variant, NULL, d.due_us, @nowUs,
                   CASE WHEN d.status = {(short)NotificationStatus.Inbox} AND d.due_us > @nowUs THEN 1 ELSE 0 END::smallint
            FROM campaign_decided d
            JOIN unnest(@keys::text[], @titles::text[], @bodies::text[], @actions::text[]) AS v(key, title, body, action) ON v.key = d.variant;

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

            UPDATE messaging_campaign_members m SET notification_id = d.id
            FROM campaign_decided d WHERE m.campaign_id = @campaignId AND m.user_id = d.user_id;

            -- Open streams on every process learn of their new message at commit (the stream's LISTEN).
            -- (Held ones are signalled when HeldNotifications releases them.)
            SELECT count(pg_notify('{NotificationFeed.PgChannel}', user_id::text)) FROM campaign_decided
            WHERE status = {(short)NotificationStatus.Inbox} AND due_us <= @nowUs;
            SELECT count(*)::int AS taken, max(user_id::text)::uuid AS last FROM campaign_pick;
            """;
        using var results = await connection.QueryMultipleAsync(new CommandDefinition(sql, p, tx, cancellationToken: ct));
        await results.ReadAsync<long>();
        return await results.ReadSingleAsync<(int, Guid?)>();
    }
}
