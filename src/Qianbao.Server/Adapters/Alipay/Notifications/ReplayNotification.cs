using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Adapters.Alipay.Notifications;

/// <summary>
/// <c>POST /admin/v1/notifications/{id}/replay</c> → 202 <c>{id, status:"pending"}</c>: makes an outbox row due now,
/// whatever its status. It keeps its <c>notify_id</c> and attempt count, so a replayed <c>failed</c> row gets one
/// more attempt (and then the rest of the schedule if any remains), and a replayed <c>delivered</c> row is sent
/// again. Replaying a row whose attempt is in flight makes it due again at once; that attempt's outcome is then
/// not recorded. Unknown id → 404 <c>not_found</c>.
/// </summary>
internal static class ReplayNotification
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/notifications/{id}/replay", HandleAsync).RequireOperator(OperatorRole.Support).WithTags("Operator");

    public static async Task<IResult> HandleAsync(string id, Db db, NotificationDispatcher dispatcher, TimeProvider clock, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var deliveryId) || !await ReplayAsync(db, deliveryId, clock.GetUnixMicroseconds(), ct))
            return ApiProblem.NotFound("No such notification.");
        dispatcher.Nudge();
        return Results.Json(new { id = deliveryId, status = "pending" }, JsonDefaults.Options, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>Marks the row pending and due at <paramref name="nowUs"/>; false when there is no such row.</summary>
    public static async Task<bool> ReplayAsync(Db db, Guid id, long nowUs, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE notify_deliveries SET status = 'pending', next_attempt_at_us = @now WHERE id = @id",
            new { id, now = nowUs }, cancellationToken: ct));
        return changed == 1;
    }
}
