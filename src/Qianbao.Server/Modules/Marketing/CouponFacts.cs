using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>
/// When people claimed or used coupons: the facts other modules measure against (messaging campaigns' conversions), read
/// here because the coupons table is this module's own.
/// </summary>
internal sealed class CouponFacts(Db db)
{
    /// <summary>
    /// (user, time) of every claim (or use, when <paramref name="used"/>) at or after <paramref name="fromUs"/> by one of
    /// <paramref name="userIds"/>, of coupons of <paramref name="campaignIds"/> (any campaign when empty).
    /// </summary>
    public async Task<List<(Guid UserId, long AtUs)>> ActivityAsync(IReadOnlyCollection<Guid> userIds, IReadOnlyCollection<Guid> campaignIds, bool used,
        long fromUs, CancellationToken ct)
    {
        var result = new List<(Guid, long)>();
        if (userIds.Count == 0) return result;
        var column = used ? "used_at_us" : "claimed_at_us";
        await using var connection = await db.OpenAsync(ct);
        foreach (var chunk in userIds.Chunk(1000))
        {
            var (userIn, ids) = db.IdIn("user_id", chunk);
            var p = new DynamicParameters(new { fromUs });
            p.Add("ids", ids);
            var campaignFilter = "";
            if (campaignIds.Count > 0)
            {
                var (campaignIn, campaigns) = db.IdIn("campaign_id", campaignIds);
                campaignFilter = " AND " + campaignIn.Replace("@ids", "@campaigns", StringComparison.Ordinal);
                p.Add("campaigns", campaigns);
            }
            result.AddRange(await connection.QueryAsync<(Guid, long)>(new CommandDefinition(
                $"SELECT user_id, {column} FROM coupons WHERE {userIn} AND {column} IS NOT NULL AND {column} >= @fromUs{campaignFilter}", p,
                cancellationToken: ct)));
        }
        return result;
    }
}
