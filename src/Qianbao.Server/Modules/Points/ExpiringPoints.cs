using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Points;

/// <summary>A person's points that expire together (the lots of one earning month) and when.</summary>
internal readonly record struct ExpiringPointsLot(Guid UserId, long ExpiresAtUs, long Points);

/// <summary>
/// For other modules (the notifications' reminders): per person and expiry instant, the points still left in lots that
/// expire in a time window, a page at a time in (expiry, user) order, so no module reads the points tables.
/// </summary>
internal sealed class ExpiringPoints(Db db)
{
    public async Task<IReadOnlyList<ExpiringPointsLot>> ListAsync(long afterUs, long untilUs, (long ExpiresAtUs, Guid UserId)? cursor, int limit,
        CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<(Guid UserId, long ExpiresAtUs, long Points)>(new CommandDefinition($"""
            SELECT user_id, expires_at_us, SUM(remaining) AS points
            FROM points_lots
            WHERE remaining > 0 AND expires_at_us > @afterUs AND expires_at_us <= @untilUs
              {(cursor is null ? "" : "AND (expires_at_us > @cursorAt OR (expires_at_us = @cursorAt AND user_id > @cursorUser))")}
            GROUP BY expires_at_us, user_id
            ORDER BY expires_at_us, user_id
            LIMIT @limit
            """, new { afterUs, untilUs, cursorAt = cursor?.ExpiresAtUs ?? 0, cursorUser = cursor?.UserId ?? Guid.Empty, limit }, cancellationToken: ct));
        return rows.Select(r => new ExpiringPointsLot(r.UserId, r.ExpiresAtUs, r.Points)).ToList();
    }
}
