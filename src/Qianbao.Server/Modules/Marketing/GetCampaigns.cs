using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>
/// <c>GET /admin/v1/campaigns/{id}</c> → <c>{id, name, kind, status, funding, budget:{amount, currency, spent, remaining,
/// returned}, starts_at, ends_at, merchant_ids, coupons:{stock, claimed, used, expired, returned} | null, terms, ...}</c>
/// and <c>GET /admin/v1/campaigns</c> → <c>{items}</c> (newest first, at most 200). Finance, risk and support read
/// campaigns (support answers users asking about a coupon; risk watches abuse); only finance moves their money.
/// </summary>
internal static class GetCampaigns
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/v1/campaigns/{id}", GetAsync)
            .RequireOperator(OperatorRole.Finance, OperatorRole.Risk, OperatorRole.Support).WithTags("Operator");
        app.MapGet("/admin/v1/campaigns", ListAsync)
            .RequireOperator(OperatorRole.Finance, OperatorRole.Risk, OperatorRole.Support).WithTags("Operator");
    }

    private static async Task<IResult> GetAsync(string id, Campaigns campaigns, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var campaignId)) return ApiProblem.NotFound();
        var row = await campaigns.FindAsync(campaignId, ct);
        return row is null ? ApiProblem.NotFound() : Results.Json(await campaigns.BodyAsync(row, ct), JsonDefaults.Options);
    }

    private static async Task<IResult> ListAsync(Campaigns campaigns, CancellationToken ct)
    {
        var rows = await campaigns.ListAsync(ct);
        return Results.Json(new { items = await campaigns.BodiesAsync(rows, ct) }, JsonDefaults.Options);
    }
}
