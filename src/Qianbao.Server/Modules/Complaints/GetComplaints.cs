using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Modules.Complaints;

/// <summary>
/// <c>GET /v1/complaints</c> → <c>{items:[...]}</c> (the user's own, newest first, at most 100) and
/// <c>GET /v1/complaints/{id}</c> → the complaint with its status and support's replies; another user's is 404.
/// </summary>
internal static class GetComplaints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/complaints", async (HttpContext http, ComplaintStore store, CancellationToken ct) =>
        {
            var rows = await store.ListAsync(http.UserId(), null, ct);
            return Results.Json(new { items = rows.Select(r => ComplaintStore.Body(r, null)) }, JsonDefaults.Options);
        }).RequireUser().WithTags("Complaints");

        app.MapGet("/v1/complaints/{id}", async (string id, HttpContext http, ComplaintStore store, CancellationToken ct) =>
        {
            var row = Guid.TryParse(id, out var complaintId) ? await store.FindAsync(complaintId, ct) : null;
            if (row is null || row.user_id != http.UserId()) return ApiProblem.NotFound();
            return Results.Json(await store.BodyAsync(row, ct), JsonDefaults.Options);
        }).RequireUser().WithTags("Complaints");
    }
}
