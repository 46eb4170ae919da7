using System.Data.Common;
using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Analytics;

/// <summary>Platform-wide kinds counted per day in <c>analytics_platform_days</c>. The stored names never change.</summary>
internal enum PlatformKind { Payment, Refund, Transfer, TopUp, Withdrawal, RedPacket, RedPacketClaim, Cashback, Registration, MerchantVerified }

internal static class PlatformKinds
{
    public static string Name(PlatformKind kind) => kind switch
    {
        PlatformKind.Payment => "payment",
        PlatformKind.Refund => "refund",
        PlatformKind.Transfer => "transfer",
        PlatformKind.TopUp => "top_up",
        PlatformKind.Withdrawal => "withdrawal",
        PlatformKind.RedPacket => "red_packet",
        PlatformKind.RedPacketClaim => "red_packet_claim",
        PlatformKind.Cashback => "cashback",
        PlatformKind.Registration => "registration",
        _ => "merchant_verified",
    };
}

/// <summary>What one event adds to the rollups.</summary>
internal abstract record AnalyticsChange(long AtUs);

internal sealed record PaymentCounted(long AtUs, Guid MerchantId, Guid PayerId, long AmountMinor, long DiscountMinor, Buckets Buckets,
    IReadOnlyList<(Guid CampaignId, long DiscountMinor)> Campaigns) : AnalyticsChange(AtUs);

internal sealed record RefundCounted(long AtUs, Guid MerchantId, long AmountMinor) : AnalyticsChange(AtUs);

internal sealed record UserCounted(long AtUs, Guid UserId) : AnalyticsChange(AtUs);

internal sealed record VerifiedCounted(long AtUs, Guid UserId) : AnalyticsChange(AtUs);

/// <param name="ActiveUserId">The user this makes active on the day, if any.</param>
internal sealed record PlatformCounted(long AtUs, PlatformKind Kind, long AmountMinor, Guid? ActiveUserId) : AnalyticsChange(AtUs);

internal sealed record CashbackCounted(long AtUs, Guid CampaignId, long AmountMinor) : AnalyticsChange(AtUs);

/// <summary>The writes of the rollups: one transaction per event batch, each event's sums behind its <c>analytics_seen</c> row.</summary>
internal sealed class AnalyticsStore(Db db, TimeProvider clock, Money.Events.EventOptions events)
{
    private long nextPurgeUs;

    /// <summary>
    /// Adds the changes in one transaction that also moves the subscriber's checkpoint. Events are recorded in
    /// <c>analytics_seen</c> (and those seen before skipped) only when the batch may repeat: a batch that may not has no sums
    /// stored yet, since every batch this process handled under its unbroken lease committed its sums with its checkpoint
    /// (<see cref="Money.Events.EventBatch"/> says why that holds across processes). Ids recorded are still purged after the retention.
    /// </summary>
    public async Task ApplyAsync(IReadOnlyList<(Guid EventId, AnalyticsChange Change)> changes, Money.Events.EventBatch batch, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        await batch.CommitCheckpointAsync(connection, tx, ct);
        var now = Hosting.TimeProviderExtensions.GetUnixMicroseconds(clock);
        // Platform counts (transfers, top-ups, ...: most events) are summed per day and kind in memory and written once per
        // key, the active days once per (day, person); the rarer kinds are written per event. Sums commute, so this adds up to
        // what writing them one by one does.
        var platform = new Dictionary<(int Day, PlatformKind Kind), (long Count, long Volume)>();
        var active = new HashSet<(int Day, Guid UserId)>();
        var first = batch.MayRepeat ? await FirstSeenAsync(connection, tx, changes, now, ct) : [.. changes.Select(c => c.Change)];
        foreach (var change in first)
        {
            if (change is PlatformCounted k)
            {
                var day = ChinaCalendar.DayOfHour(ChinaCalendar.HourOf(k.AtUs));
                var sum = platform.GetValueOrDefault((day, k.Kind));
                platform[(day, k.Kind)] = (sum.Count + 1, sum.Volume + k.AmountMinor);
                if (k.ActiveUserId is { } user) active.Add((day, user));
                continue;
            }
            await ApplyAsync(connection, tx, change, ct);
        }
        await PlatformDaysAsync(connection, tx, platform, ct);
        await ActiveDaysAsync(connection, tx, active, ct);
        // An event id needs keeping only while the event can be delivered again: once the outbox's retention (and a week's
        // margin for a purge that lags) has passed since it was seen, the event itself is gone. Checked at most hourly.
        if (now >= nextPurgeUs)
        {
            var before = now - (events.RetentionDays + 7L) * 24 * ChinaCalendar.HourUs;
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM analytics_seen WHERE seen_at_us < @before", new { before }, tx, cancellationToken: ct));
            nextPurgeUs = now + ChinaCalendar.HourUs;
        }
        await tx.CommitAsync(ct);
    }

    /// <summary>Records the events' ids as seen; answers the changes of those seen for the first time, in order.</summary>
    private static async Task<List<AnalyticsChange>> FirstSeenAsync(DbConnection connection, DbTransaction tx,
        IReadOnlyList<(Guid EventId, AnalyticsChange Change)> changes, long now, CancellationToken ct)
    {
        if (connection is Npgsql.NpgsqlConnection)
        {
            var inserted = (await connection.QueryAsync<Guid>(new CommandDefinition("""
                INSERT INTO analytics_seen (event_id, seen_at_us) SELECT e, @now FROM unnest(@ids::uuid[]) AS e
                ON CONFLICT (event_id) DO NOTHING RETURNING event_id
                """, new { ids = changes.Select(c => c.EventId).ToArray(), now }, tx, cancellationToken: ct))).ToHashSet();
            return [.. changes.Where(c => inserted.Contains(c.EventId)).Select(c => c.Change)];
        }
        var first = new List<AnalyticsChange>(changes.Count);
        foreach (var (eventId, change) in changes)
        {
            if (await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO analytics_seen (event_id, seen_at_us) VALUES (@eventId, @now) ON CONFLICT (event_id) DO NOTHING",
                    new { eventId, now }, tx, cancellationToken: ct)) == 1)
                first.Add(change);
        }
        return first;
    }

    private const string PlatformDaysUpsert = """
        ON CONFLICT (day, kind) DO UPDATE SET count = analytics_platform_days.count + excluded.count,
            volume_minor = analytics_platform_days.volume_minor + excluded.volume_minor
        """;

    private static async Task PlatformDaysAsync(DbConnection c, DbTransaction tx, Dictionary<(int Day, PlatformKind Kind), (long Count, long Volume)> sums,
        CancellationToken ct)
    {
        if (sums.Count == 0) return;
        var keys = sums.Keys.OrderBy(k => k.Day).ThenBy(k => k.Kind).ToList();
        if (c is Npgsql.NpgsqlConnection)
        {
            await c.ExecuteAsync(new CommandDefinition($"""
                INSERT INTO analytics_platform_days (day, kind, count, volume_minor)
                SELECT * FROM unnest(@days::integer[], @kinds::text[], @counts::bigint[], @volumes::bigint[])
                {PlatformDaysUpsert}
                """, new
            {
                days = keys.Select(k => k.Day).ToArray(), kinds = keys.Select(k => PlatformKinds.Name(k.Kind)).ToArray(),
                counts = keys.Select(k => sums[k].Count).ToArray(), volumes = keys.Select(k => sums[k].Volume).ToArray(),
            }, tx, cancellationToken: ct));
            return;
        }
        foreach (var k in keys)
            await c.ExecuteAsync(new CommandDefinition($"""
                INSERT INTO analytics_platform_days (day, kind, count, volume_minor) VALUES (@day, @kind, @count, @volume)
                {PlatformDaysUpsert}
                """, new { day = k.Day, kind = PlatformKinds.Name(k.Kind), count = sums[k].Count, volume = sums[k].Volume }, tx, cancellationToken: ct));
    }

    private static async Task ActiveDaysAsync(DbConnection c, DbTransaction tx, HashSet<(int Day, Guid UserId)> active, CancellationToken ct)
    {
        if (active.Count == 0) return;
        if (c is Npgsql.NpgsqlConnection)
        {
            var rows = active.OrderBy(a => a.Day).ThenBy(a => a.UserId).ToList();
            await c.ExecuteAsync(new CommandDefinition("""
                INSERT INTO analytics_active_days (day, user_id) SELECT * FROM unnest(@days::integer[], @users::uuid[])
                ON CONFLICT (day, user_id) DO NOTHING
                """, new { days = rows.Select(a => a.Day).ToArray(), users = rows.Select(a => a.UserId).ToArray() }, tx, cancellationToken: ct));
            return;
        }
        foreach (var (day, userId) in active) await ActiveAsync(c, tx, day, userId, ct);
    }

    private static async Task ApplyAsync(DbConnection c, DbTransaction tx, AnalyticsChange change, CancellationToken ct)
    {
        var hour = ChinaCalendar.HourOf(change.AtUs);
        var day = ChinaCalendar.DayOfHour(hour);
        switch (change)
        {
            case PaymentCounted p:
                await MerchantHourAsync(c, tx, p.MerchantId, hour, p.AmountMinor, 1, 0, 0, p.DiscountMinor, ct);
                await c.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO analytics_merchant_payers (merchant_id, payer_id, first_day, last_day, orders) VALUES (@MerchantId, @PayerId, @day, @day, 1)
                    ON CONFLICT (merchant_id, payer_id) DO UPDATE SET
                        first_day = CASE WHEN excluded.first_day < analytics_merchant_payers.first_day THEN excluded.first_day ELSE analytics_merchant_payers.first_day END,
                        last_day = CASE WHEN excluded.last_day > analytics_merchant_payers.last_day THEN excluded.last_day ELSE analytics_merchant_payers.last_day END,
                        orders = analytics_merchant_payers.orders + 1
                    """, new { p.MerchantId, p.PayerId, day }, tx, cancellationToken: ct));
                await c.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO analytics_payer_days (merchant_id, day, payer_id, orders, gender, age_band, province)
                    VALUES (@MerchantId, @day, @PayerId, 1, @gender, @band, @province)
                    ON CONFLICT (merchant_id, day, payer_id) DO UPDATE SET orders = analytics_payer_days.orders + 1,
                        gender = excluded.gender, age_band = excluded.age_band, province = excluded.province
                    """, new { p.MerchantId, p.PayerId, day, gender = p.Buckets.Gender, band = p.Buckets.AgeBand, province = p.Buckets.Province },
                    tx, cancellationToken: ct));
                foreach (var (campaignId, discount) in p.Campaigns)
                {
                    await c.ExecuteAsync(new CommandDefinition("""
                        INSERT INTO analytics_campaign_hours (merchant_id, campaign_id, hour_no, orders, discount_minor, gmv_minor)
                        VALUES (@MerchantId, @campaignId, @hour, 1, @discount, @AmountMinor)
                        ON CONFLICT (merchant_id, hour_no, campaign_id) DO UPDATE SET orders = analytics_campaign_hours.orders + 1,
                            discount_minor = analytics_campaign_hours.discount_minor + excluded.discount_minor,
                            gmv_minor = analytics_campaign_hours.gmv_minor + excluded.gmv_minor
                        """, new { p.MerchantId, campaignId, hour, discount, p.AmountMinor }, tx, cancellationToken: ct));
                }
                await PlatformDayAsync(c, tx, day, PlatformKind.Payment, p.AmountMinor, ct);
                await ActiveAsync(c, tx, day, p.PayerId, ct);
                break;
            case RefundCounted r:
                await MerchantHourAsync(c, tx, r.MerchantId, hour, 0, 0, 1, r.AmountMinor, 0, ct);
                await PlatformDayAsync(c, tx, day, PlatformKind.Refund, r.AmountMinor, ct);
                break;
            case UserCounted u:
                await c.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO analytics_users (user_id, registered_day) VALUES (@UserId, @day) ON CONFLICT (user_id) DO NOTHING",
                    new { u.UserId, day }, tx, cancellationToken: ct));
                await PlatformDayAsync(c, tx, day, PlatformKind.Registration, 0, ct);
                break;
            case VerifiedCounted v:
                // Keyed by the user: a user counts once, on the day of the verification, however often the fact is delivered.
                await c.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO analytics_verified_users (user_id, day) VALUES (@UserId, @day) ON CONFLICT (user_id) DO NOTHING",
                    new { v.UserId, day }, tx, cancellationToken: ct));
                break;
            // PlatformCounted: summed per batch by the caller.
            case CashbackCounted b:
                await PlatformDayAsync(c, tx, day, PlatformKind.Cashback, b.AmountMinor, ct);
                await c.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO analytics_cashback_days (campaign_id, day, amount_minor) VALUES (@CampaignId, @day, @AmountMinor)
                    ON CONFLICT (day, campaign_id) DO UPDATE SET amount_minor = analytics_cashback_days.amount_minor + excluded.amount_minor
                    """, new { b.CampaignId, day, b.AmountMinor }, tx, cancellationToken: ct));
                break;
        }
    }

    private static Task MerchantHourAsync(DbConnection c, DbTransaction tx, Guid merchantId, long hour, long gmv, long orders, long refunds,
        long refundMinor, long discount, CancellationToken ct) =>
        c.ExecuteAsync(new CommandDefinition("""
            INSERT INTO analytics_merchant_hours (merchant_id, hour_no, gmv_minor, orders, refunds, refund_minor, discount_minor)
            VALUES (@merchantId, @hour, @gmv, @orders, @refunds, @refundMinor, @discount)
            ON CONFLICT (merchant_id, hour_no) DO UPDATE SET gmv_minor = analytics_merchant_hours.gmv_minor + excluded.gmv_minor,
                orders = analytics_merchant_hours.orders + excluded.orders, refunds = analytics_merchant_hours.refunds + excluded.refunds,
                refund_minor = analytics_merchant_hours.refund_minor + excluded.refund_minor,
                discount_minor = analytics_merchant_hours.discount_minor + excluded.discount_minor
            """, new { merchantId, hour, gmv, orders, refunds, refundMinor, discount }, tx, cancellationToken: ct));

    private static Task PlatformDayAsync(DbConnection c, DbTransaction tx, int day, PlatformKind kind, long volume, CancellationToken ct) =>
        c.ExecuteAsync(new CommandDefinition("""
            INSERT INTO analytics_platform_days (day, kind, count, volume_minor) VALUES (@day, @kind, 1, @volume)
            ON CONFLICT (day, kind) DO UPDATE SET count = analytics_platform_days.count + 1,
                volume_minor = analytics_platform_days.volume_minor + excluded.volume_minor
            """, new { day, kind = PlatformKinds.Name(kind), volume }, tx, cancellationToken: ct));

    private static Task ActiveAsync(DbConnection c, DbTransaction tx, int day, Guid userId, CancellationToken ct) =>
        c.ExecuteAsync(new CommandDefinition("INSERT INTO analytics_active_days (day, user_id) VALUES (@day, @userId) ON CONFLICT (day, user_id) DO NOTHING",
            new { day, userId }, tx, cancellationToken: ct));
}
