using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Points;

/// <summary>
/// <c>GET /v1/points</c> → <c>{balance, shortfall, expiring:[{amount, expires_at}], items:[{id, type, amount, withheld, shortfall,
/// trade_no, at}]}</c>. The balance is the ledger's (the user's PTS points account); <c>expiring</c> groups what is left of the
/// earning lots by expiry, soonest first; <c>items</c> are the latest earnings, clawbacks and expiries, newest first.
/// </summary>
internal static class GetPoints
{
    private static readonly TimeSpan China = TimeSpan.FromHours(8);

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/points", HandleAsync).RequireUser().WithTags("Points");

    private static async Task<IResult> HandleAsync(HttpContext http, LedgerAccounts ledger, PointsStore store, CancellationToken ct)
    {
        var userId = http.UserId();
        var account = ChartOfAccounts.UserPoints(userId);
        var balance = (await ledger.GetAsync([account.Id], ct)).TryGetValue(account.Id, out var a) ? a.CreditBalanceAvailable : 0;
        var expiring = (await store.ExpiringAsync(userId, ct)).Select(e => new
        {
            e.amount, expires_at = TimeProviderExtensions.FromUnixMicroseconds(e.expires_at_us).ToOffset(China),
        });
        var items = (await store.ItemsAsync(userId, ct)).Select(i => new
        {
            i.id, type = PointsItemNames.Of((PointsItemKind)i.kind), i.amount, i.withheld, i.shortfall, i.trade_no,
            at = TimeProviderExtensions.FromUnixMicroseconds(i.at_us).ToOffset(China),
        });
        return Results.Json(new { balance, shortfall = await store.ShortfallAsync(userId, ct), expiring, items }, JsonDefaults.Options);
    }
}
