using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity.Tiers;

namespace Qianbao.Server.Modules.Identity.Limits;

/// <summary>
/// <c>GET /v1/me/limits</c> → <c>{tier, limits:[{period, max, used, remaining}]}</c>, amounts in CNY fen, read from the limit
/// accounts in the ledger (so it says exactly what the next payment will be checked against). Class I shows <c>daily</c> and
/// <c>total</c> (since opening); classes II and III show <c>daily</c> and <c>year</c> (calendar year, China time). An
/// unverified account has no limits to show: it may not spend at all.
/// </summary>
internal static class GetLimits
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/me/limits", HandleAsync).RequireUser().WithTags("Identity");

    private static async Task<IResult> HandleAsync(HttpContext http, TierStore tiers, TierLimits limits, CancellationToken ct)
    {
        var userId = http.UserId();
        var tier = await tiers.GetAsync(userId, ct) ?? UserTier.Unverified;
        var states = await limits.StatesAsync(userId, tier, ct);
        return Results.Json(new
        {
            tier = UserTiers.Name(tier),
            limits = states.Select(s => new { period = TierLimits.Name(s.Period), max = s.MaxMinor, used = s.UsedMinor, remaining = s.RemainingMinor }),
        }, JsonDefaults.Options);
    }
}
