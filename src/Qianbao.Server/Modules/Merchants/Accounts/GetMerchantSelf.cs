using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>
/// <c>GET /merchant/v1/me</c> → <c>{merchant_id, name, status, rejected_reason, fee_bps, staff_id, role}</c>: where a signup stands
/// (<c>pending</c>, <c>verified</c> or <c>rejected</c> with the operator's reason) and who is calling. Every staff role.
/// </summary>
internal static class GetMerchantSelf
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/merchant/v1/me", HandleAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, CancellationToken ct)
    {
        var caller = http.Merchant();
        await using var connection = await db.OpenAsync(ct);
        var m = await connection.QuerySingleOrDefaultAsync<(string Name, string Status, string? RejectedReason, int FeeBps)?>(new CommandDefinition(
            "SELECT name, status, rejected_reason, fee_bps FROM merchants WHERE id = @id", new { id = caller.MerchantId }, cancellationToken: ct));
        if (m is not { } row) return ApiProblem.NotFound();
        return Results.Json(new
        {
            merchant_id = caller.MerchantId, name = row.Name, status = row.Status, rejected_reason = row.RejectedReason, fee_bps = row.FeeBps,
            staff_id = caller.StaffId, role = MerchantRoles.Name(caller.Role),
        }, JsonDefaults.Options);
    }
}
