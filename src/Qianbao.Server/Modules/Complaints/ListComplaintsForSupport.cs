using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Complaints;

/// <summary>
/// <c>GET /admin/v1/complaints?status=</c> (support) → <c>{items:[...]}</c>: every user's complaints, newest first (at most
/// 100), optionally in one status (<c>open</c>, <c>in_progress</c>, <c>refunded</c>, <c>rejected</c>).
/// <c>GET /admin/v1/complaints/{id}</c> (support) → one with its replies.
/// </summary>
internal static class ListComplaintsForSupport
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/v1/complaints", async (string? status, ComplaintStore store, CancellationToken ct) =>
        {
            ComplaintStatus? filter = null;
            if (status is not null)
            {
                if (!ComplaintNames.TryParseStatus(status, out var s))
                    return ApiProblem.BadRequest(ErrorCodes.InvalidStatus, "status must be open, in_progress, refunded or rejected.");
                filter = s;
            }
            var rows = await store.ListAsync(null, filter, ct);
            return Results.Json(new { items = rows.Select(r => ComplaintStore.Body(r, null)) }, JsonDefaults.Options);
        }).RequireOperator(OperatorRole.Support).WithTags("Operator");

        app.MapGet("/admin/v1/complaints/{id}", async (string id, ComplaintStore store, CancellationToken ct) =>
        {
            var row = Guid.TryParse(id, out var complaintId) ? await store.FindAsync(complaintId, ct) : null;
            return row is null ? ApiProblem.NotFound() : Results.Json(await store.BodyAsync(row, ct), JsonDefaults.Options);
        }).RequireOperator(OperatorRole.Support).WithTags("Operator");
    }
}
