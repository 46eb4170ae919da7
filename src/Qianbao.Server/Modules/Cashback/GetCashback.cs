using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Modules.Cashback;

/// <summary>
/// <c>GET /v1/cashback</c> → <c>{pending, posted, items:[{id, trade_no, campaign_id, status, amount, currency, earned, voided,
/// clawed_back, settle_at, posted_at, created_at}]}</c>: the user's cashback, newest first. <c>amount</c> is what the user has
/// (posted) or will have (pending) after refunds; <c>pending</c> and <c>posted</c> sum it over the listed items by status.
/// </summary>
internal static class GetCashback
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/cashback", HandleAsync).RequireUser().WithTags("Cashback");

    private static async Task<IResult> HandleAsync(HttpContext http, CashbackStore store, CancellationToken ct)
    {
        var items = await store.ListAsync(http.UserId(), ct);
        return Results.Json(new
        {
            pending = items.Where(i => i.Status == CashbackStatus.Pending).Sum(i => i.Amount),
            posted = items.Where(i => i.Status == CashbackStatus.Posted).Sum(i => i.Amount),
            items = items.Select(i => i.Body()),
        }, JsonDefaults.Options);
    }
}
