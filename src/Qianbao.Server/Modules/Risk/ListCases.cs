using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// <c>GET /admin/v1/risk/cases?status=&amp;rule=&amp;limit=&amp;cursor=</c> → <c>{items:[{id, subject_type, subject_id, rule,
/// status, opened_at, hits:[{movement_id, amount, at}], amount_total, ...}], next_cursor}</c>, newest first. Role risk.
/// A list item shows at most <see cref="RiskCases.ListHitsMax"/> hits (the case page shows all); <c>amount_total</c>
/// sums them all.
/// </summary>
internal static class ListCases
{
    public const int LimitDefault = 20;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/risk/cases", HandleAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");

    private static async Task<IResult> HandleAsync(RiskCases cases, CancellationToken ct, string? status = null, string? rule = null, string? limit = null,
        string? cursor = null)
    {
        CaseStatus? byStatus = null;
        if (status is not null)
        {
            if (!CaseNames.TryParseStatus(status, out var s)) return ApiProblem.BadRequest(ErrorCodes.InvalidStatus, "status must be open, assigned or resolved.");
            byStatus = s;
        }
        RiskRule? byRule = null;
        if (rule is not null)
        {
            if (!RiskRules.TryParse(rule, out var r))
                return ApiProblem.BadRequest(ErrorCodes.InvalidRule, $"rule must be one of {string.Join(", ", RiskRules.All.Select(RiskRules.Name))}.");
            byRule = r;
        }
        if (!PageLimit.TryRead(limit, LimitDefault, RiskCases.ListLimitMax, out var take, out var limitProblem)) return limitProblem;
        Guid? before = null;
        if (cursor is not null)
        {
            if (!Guid.TryParse(cursor, out var c)) return ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "cursor must be a next_cursor this list answered.");
            before = c;
        }
        var page = await cases.ListAsync(byStatus, byRule, before, take + 1, ct);
        var items = page.Take(take).ToList();
        return Results.Json(new { items = items.Select(CaseJson.Case), next_cursor = page.Count > take ? items[^1].Id.ToString() : null }, JsonDefaults.Options);
    }
}
