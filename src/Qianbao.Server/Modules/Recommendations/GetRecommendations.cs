using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Modules.Merchants;

namespace Qianbao.Server.Modules.Recommendations;

/// <summary>A recommended merchant: its score (people who paid at both it and one of yours, summed) and why.</summary>
internal sealed record MerchantPick(Guid MerchantId, long Score, long Payers, Guid? Because);

/// <summary>
/// Item-to-item recommendation over <see cref="RecommendationRollup"/>'s counts, pure over what was read: a merchant the
/// person has not paid at scores the sum, over the merchants they paid at, of the people who paid at both; ties go to the
/// more popular (more payers), then the lower id. Its reason names the merchant of theirs that contributed most. With
/// no such merchant (no history, or nobody shares it), the most popular merchants they have not paid at follow.
/// </summary>
internal static class MerchantRanking
{
    public static IReadOnlyList<MerchantPick> Rank(IReadOnlyCollection<Guid> mine, IReadOnlyList<(Guid A, Guid B, long People)> pairs,
        IReadOnlyDictionary<Guid, long> payers, int limit)
    {
        var scores = new Dictionary<Guid, (long Score, Guid Because, long Best)>();
        foreach (var (a, b, people) in pairs)
        {
            if (!mine.Contains(a) || mine.Contains(b)) continue;
            var s = scores.GetValueOrDefault(b, (0, a, 0));
            scores[b] = (s.Score + people, people > s.Best || (people == s.Best && a.CompareTo(s.Because) < 0) ? a : s.Because, Math.Max(people, s.Best));
        }
        var picks = scores.Select(kv => new MerchantPick(kv.Key, kv.Value.Score, payers.GetValueOrDefault(kv.Key), kv.Value.Because))
            .OrderByDescending(p => p.Score).ThenByDescending(p => p.Payers).ThenBy(p => p.MerchantId).Take(limit).ToList();
        foreach (var (merchant, count) in payers.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key))
        {
            if (picks.Count >= limit) break;
            if (mine.Contains(merchant) || scores.ContainsKey(merchant)) continue;
            picks.Add(new MerchantPick(merchant, 0, count, null));
        }
        return picks;
    }
}

/// <summary>
/// <c>GET /v1/recommendations</c> → <c>{merchants:[{merchant_id, name, score, reason}], campaigns:[{campaign_id, name,
/// merchant_ids, reason}]}</c>: up to <see cref="MerchantsMax"/> merchants ranked by <see cref="MerchantRanking"/>, and the
/// coupon campaigns the person can still claim, those at a merchant they pay at first, then at a recommended merchant (in
/// its rank), then those valid everywhere, then the rest (each group soonest-ending first). Reasons in the person's
/// locale (zh-CN, en).
/// </summary>
internal static class GetRecommendations
{
    public const int MerchantsMax = 10;
    public const int CampaignsMax = 10;

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/recommendations", HandleAsync).RequireUser().WithTags("Recommendations");

    private static async Task<IResult> HandleAsync(HttpContext http, MerchantRecommendations recommendations, MerchantDirectory merchants, Coupons coupons,
        UserDirectory users, CancellationToken ct)
    {
        var userId = http.UserId();
        var en = (await users.ContactAsync(userId, ct))?.Locale == "en";
        var (mine, picks) = await recommendations.PicksAsync(userId, MerchantsMax, ct);
        var mineSet = mine.ToHashSet();
        var names = new Dictionary<Guid, string>();
        async Task<string> NameAsync(Guid id)
        {
            if (!names.TryGetValue(id, out var name)) names[id] = name = await merchants.NameAsync(id, ct) ?? "";
            return name;
        }
        var merchantItems = new List<object>();
        foreach (var p in picks)
        {
            var reason = MerchantRecommendations.Reason(p.Because is { } because ? await NameAsync(because) : null, en);
            merchantItems.Add(new { merchant_id = p.MerchantId, name = await NameAsync(p.MerchantId), score = p.Score, reason });
        }

        var rank = picks.Select((p, i) => (p.MerchantId, i)).ToDictionary(x => x.MerchantId, x => x.i);
        var campaignItems = (await coupons.ClaimableAsync(userId, ct))
            .Select((c, order) =>
            {
                var at = c.merchant_ids.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => Guid.TryParse(s, out var g) ? g : Guid.Empty).ToList();
                var paidAt = at.FirstOrDefault(mineSet.Contains);
                var recommended = at.Where(rank.ContainsKey).OrderBy(m => rank[m]).FirstOrDefault();
                var (group, sub, merchant) = at.Count == 0 ? (2, 0, Guid.Empty)
                    : paidAt != Guid.Empty ? (0, 0, paidAt)
                    : recommended != Guid.Empty ? (1, rank[recommended], recommended)
                    : (3, 0, Guid.Empty);
                return (c, at, group, sub, merchant, order);
            })
            .OrderBy(x => x.group).ThenBy(x => x.sub).ThenBy(x => x.order).Take(CampaignsMax).ToList();
        var campaignsOut = new List<object>();
        foreach (var x in campaignItems)
        {
            var reason = x.group switch
            {
                0 => en ? $"For {await NameAsync(x.merchant)}, where you pay" : $"适用于您常去的{await NameAsync(x.merchant)}",
                1 => en ? $"For {await NameAsync(x.merchant)}, recommended for you" : $"适用于为您推荐的{await NameAsync(x.merchant)}",
                2 => en ? "Use it anywhere" : "全场通用",
                _ => en ? "New offer" : "新优惠",
            };
            campaignsOut.Add(new { campaign_id = x.c.id, name = x.c.name, merchant_ids = x.at, reason });
        }
        return Results.Json(new { merchants = merchantItems, campaigns = campaignsOut }, JsonDefaults.Options);
    }
}
