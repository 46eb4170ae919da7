using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>An available coupon that expires soon: whose it is, what it is, and when it expires.</summary>
internal readonly record struct ExpiringCoupon(Guid CouponId, Guid UserId, string CampaignName, CouponType Type, long AmountMinor, int PercentBps,
    string Currency, long ExpiresAtUs);

/// <summary>
/// For other modules (the notifications' reminders): available coupons expiring in a time window, in (expiry, id) order, a
/// page at a time (the cursor is the last one returned), so no module reads Marketing's tables.
/// </summary>
internal sealed class ExpiringCoupons(Db db)
{
    public async Task<IReadOnlyList<ExpiringCoupon>> ListAsync(long afterUs, long untilUs, (long ExpiresAtUs, Guid Id)? cursor, int limit, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT c.id, c.user_id, k.name, c.type, c.amount, c.percent_bps, c.currency, c.expires_at_us
            FROM coupons c JOIN campaigns k ON k.id = c.campaign_id
            WHERE c.status = {(short)CouponStatus.Available} AND c.expires_at_us > @afterUs AND c.expires_at_us <= @untilUs
              {(cursor is null ? "" : "AND (c.expires_at_us > @cursorAt OR (c.expires_at_us = @cursorAt AND c.id > @cursorId))")}
            ORDER BY c.expires_at_us, c.id
            LIMIT @limit
            """, new { afterUs, untilUs, cursorAt = cursor?.ExpiresAtUs ?? 0, cursorId = cursor?.Id ?? Guid.Empty, limit }, cancellationToken: ct));
        return rows.Select(r => new ExpiringCoupon(r.id, r.user_id, r.name, (CouponType)r.type, r.amount, r.percent_bps, r.currency, r.expires_at_us)).ToList();
    }

    private sealed class Row
    {
        public Guid id { get; init; }
        public Guid user_id { get; init; }
        public string name { get; init; } = "";
        public short type { get; init; }
        public long amount { get; init; }
        public int percent_bps { get; init; }
        public string currency { get; init; } = "";
        public long expires_at_us { get; init; }
    }
}
