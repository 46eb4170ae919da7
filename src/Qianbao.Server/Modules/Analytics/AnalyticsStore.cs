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
        // Summed per rollup row in memory and written as one upsert per table (RollupSums says why that adds up the same).
        var sums = new RollupSums();
        var first = batch.MayRepeat ? await FirstSeenAsync(connection, tx, changes, now, ct) : [.. changes.Select(c => c.Change)];
        foreach (var change in first) sums.Add(change);
        await SqlBatch.ExecuteAsync(connection, tx, sums.Statements(connection is Npgsql.NpgsqlConnection), ct);
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
}
