using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>
/// The operators' review queue of self-service signups. <c>GET /admin/v1/merchants/signups?status=pending|rejected|verified</c>
/// (default <c>pending</c>) → <c>{items:[{id, name, status, screening_hold, created_at, rejected_reason?}]}</c>, oldest first;
/// approving is the existing <c>POST /admin/v1/merchants/{id}/verify</c>; <c>POST /admin/v1/merchants/{id}/reject</c>
/// <c>{reason}</c> → <c>{id, status:"rejected", reason}</c> (only a pending merchant: else 409 <c>not_pending</c>; 400
/// <c>invalid_reason</c>). Roles as verification's. A rejected merchant takes no payments (only verified ones do).
/// </summary>
internal static class SignupReview
{
    public sealed record RejectRequest(string? Reason);

    public const string Rejected = "rejected";
    public const int ReasonLengthMax = 500;
    public const int PageMax = 200;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/v1/merchants/signups", ListAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");
        app.MapPost("/admin/v1/merchants/{id}/reject", RejectAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");
    }

    private static async Task<IResult> ListAsync(HttpContext http, Db db, Risk.WatchlistScreening screening, CancellationToken ct)
    {
        var status = http.Request.Query["status"].ToString() is { Length: > 0 } s ? s : MerchantRow.Pending;
        if (status is not (MerchantRow.Pending or MerchantRow.Verified or Rejected))
            return ApiProblem.BadRequest(ErrorCodes.InvalidStatus, "status must be pending, verified or rejected.");
        List<(Guid Id, string Name, string Status, long CreatedAtUs, string? RejectedReason)> rows;
        await using (var connection = await db.OpenAsync(ct))
        {
            rows = (await connection.QueryAsync<(Guid, string, string, long, string?)>(new CommandDefinition($"""
                SELECT id, name, status, created_at_us, rejected_reason FROM merchants
                WHERE status = @status AND signed_up = 1 ORDER BY created_at_us, id LIMIT {PageMax}
                """, new { status }, cancellationToken: ct))).AsList();
        }
        var items = new List<object>(rows.Count);
        foreach (var m in rows)
        {
            items.Add(new
            {
                id = m.Id, name = m.Name, status = m.Status, screening_hold = await screening.HoldsMerchantAsync(m.Id, ct),
                created_at = TimeProviderExtensions.FromUnixMicroseconds(m.CreatedAtUs), rejected_reason = m.RejectedReason,
            });
        }
        return Results.Json(new { items }, JsonDefaults.Options);
    }

    private static async Task<IResult> RejectAsync(string id, HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        var (r, _, problem) = await RequestBody.ReadJsonAsync<RejectRequest>(http.Request, ct);
        if (problem is not null) return problem;
        if (!Guid.TryParse(id, out var merchantId)) return ApiProblem.NotFound();
        var reason = r!.Reason?.Trim();
        if (reason is not { Length: >= 1 and <= ReasonLengthMax } || reason.Any(char.IsControl))
            return ApiProblem.BadRequest(ErrorCodes.InvalidReason, $"reason must be 1..{ReasonLengthMax} printable characters.");
        await using var connection = await db.OpenAsync(ct);
        var updated = await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE merchants SET status = @rejected, rejected_reason = @reason, rejected_at_us = @nowUs WHERE id = @merchantId AND status = @pending
            """, new { merchantId, rejected = Rejected, reason, nowUs = clock.GetUnixMicroseconds(), pending = MerchantRow.Pending }, cancellationToken: ct));
        if (updated == 0)
        {
            var exists = await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
                "SELECT status FROM merchants WHERE id = @merchantId", new { merchantId }, cancellationToken: ct));
            return exists is null ? ApiProblem.NotFound() : ApiProblem.Conflict(ErrorCodes.NotPending, $"Only a pending merchant can be rejected; this one is {exists}.");
        }
        return Results.Json(new { id = merchantId, status = Rejected, reason }, JsonDefaults.Options);
    }
}
