using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Holds;

/// <summary>
/// <c>GET /admin/v1/users/{id}/holds</c> (risk, finance) → <c>{items:[{id, amount, currency, reason, reference, status, payee,
/// created_at, resolved_at}]}</c>, newest first: every amount hold of the person, live or not.
/// </summary>
internal static class ListAmountHolds
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/users/{id}/holds", HandleAsync).RequireOperator(OperatorRole.Risk, OperatorRole.Finance).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, UserDirectory users, AmountHolds holds, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var userId) || !await users.ExistsAsync(userId, ct)) return ApiProblem.NotFound();
        var rows = await holds.ListAsync(userId, ct);
        return Results.Json(new { items = rows.Select(r => r.Body()) }, JsonDefaults.Options);
    }
}
