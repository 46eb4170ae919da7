using Dapper;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Recommendations;

/// <summary>
/// The merchants recommended to a person (<see cref="MerchantRanking"/> over <see cref="RecommendationRollup"/>'s counts),
/// as <c>GET /v1/recommendations</c> lists them and as other modules ask for the top one (a messaging campaign's
/// <c>{{ recommended_merchant }}</c> and <c>{{ recommendation_reason }}</c>).
/// </summary>
internal sealed class MerchantRecommendations(Db db, MerchantDirectory merchants)
{
    private const int PopularRead = 50;

    /// <summary>The merchants the person pays at, and up to <paramref name="limit"/> ranked picks.</summary>
    public async Task<(IReadOnlyList<Guid> Mine, IReadOnlyList<MerchantPick> Picks)> PicksAsync(Guid userId, int limit, CancellationToken ct)
    {
        List<Guid> mine;
        List<(Guid, Guid, long)> pairs;
        Dictionary<Guid, long> payers;
        await using (var connection = await db.OpenAsync(ct))
        {
            mine = (await connection.QueryAsync<Guid>(new CommandDefinition(
                "SELECT merchant_id FROM reco_user_merchants WHERE user_id = @userId", new { userId }, cancellationToken: ct))).AsList();
            pairs = (await connection.QueryAsync<(Guid, Guid, long)>(new CommandDefinition("""
                SELECT p.merchant_a, p.merchant_b, p.people FROM reco_pairs p
                JOIN reco_user_merchants u ON u.merchant_id = p.merchant_a AND u.user_id = @userId
                """, new { userId }, cancellationToken: ct))).AsList();
            var candidates = pairs.Select(p => p.Item2).Distinct().ToList();
            payers = (await connection.QueryAsync<(Guid, long)>(new CommandDefinition(
                    $"SELECT merchant_id, payers FROM reco_merchants ORDER BY payers DESC, merchant_id LIMIT {PopularRead + mine.Count}",
                    cancellationToken: ct)))
                .ToDictionary(r => r.Item1, r => r.Item2);
            foreach (var chunk in candidates.Where(c => !payers.ContainsKey(c)).Chunk(500))
                foreach (var (id, count) in await connection.QueryAsync<(Guid, long)>(new CommandDefinition(
                             "SELECT merchant_id, payers FROM reco_merchants WHERE merchant_id IN @ids", new { ids = chunk }, cancellationToken: ct)))
                    payers[id] = count;
        }
        return (mine, MerchantRanking.Rank(mine.ToHashSet(), pairs, payers, limit));
    }

    /// <summary>The person's top recommended merchant's name and the reason in their language, or null when there is none.</summary>
    public async Task<(string MerchantName, string Reason)?> TopAsync(Guid userId, bool english, CancellationToken ct)
    {
        var (_, picks) = await PicksAsync(userId, 1, ct);
        if (picks.Count == 0) return null;
        var top = picks[0];
        var because = top.Because is { } b ? await merchants.NameAsync(b, ct) ?? "" : null;
        return (await merchants.NameAsync(top.MerchantId, ct) ?? "", Reason(because, english));
    }

    /// <summary>Why a merchant is recommended: the merchant of theirs that contributed most, else its popularity.</summary>
    public static string Reason(string? becauseName, bool english) => becauseName is { } name
        ? english ? $"People who pay at {name} also pay here" : $"常去{name}的人也常来这里"
        : english ? "Popular with Qianbao users" : "大家都在这里付款";
}
