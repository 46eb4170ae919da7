using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Modules.Complaints;

/// <summary>
/// <c>POST /admin/v1/complaints/{id}/replies {text}</c> (support) → 201 the complaint with its replies, now
/// <c>in_progress</c>. The reply, the status and the <c>complaint.replied</c> event commit together; a resolved complaint
/// takes no more replies (409 <c>complaint_closed</c>).
/// </summary>
internal static class ReplyToComplaint
{
    public sealed record Request(string? Text);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/complaints/{id}/replies", HandleAsync).RequireOperator(OperatorRole.Support).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, ComplaintStore store, EventSignal events, TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (ComplaintStore.CleanText(request!.Text, ComplaintStore.TextLengthMax) is not { } text)
            return ApiProblem.BadRequest(ErrorCodes.InvalidText, $"text must be 1-{ComplaintStore.TextLengthMax} characters.");
        if (!Guid.TryParse(id, out var complaintId)) return ApiProblem.NotFound();

        var nowUs = clock.GetUnixMicroseconds();
        var replyId = Guid.CreateVersion7();
        await using (var connection = await store.Db.OpenAsync(ct))
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            // The status moves only while open, in one statement: a reply racing a resolution lands before it or not at all.
            var userId = await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition($"""
                UPDATE complaints SET status = {(int)ComplaintStatus.InProgress}, updated_at_us = @now
                WHERE id = @id AND status IN ({(int)ComplaintStatus.Open}, {(int)ComplaintStatus.InProgress}) RETURNING user_id
                """, new { id = complaintId, now = nowUs }, tx, cancellationToken: ct));
            if (userId is null)
            {
                await tx.RollbackAsync(ct);
                return await store.FindAsync(complaintId, ct) is null
                    ? ApiProblem.NotFound()
                    : ApiProblem.Conflict(ErrorCodes.ComplaintClosed, "The complaint is resolved: it takes no more replies.");
            }
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO complaint_replies (id, complaint_id, operator_id, text, created_at_us) VALUES (@replyId, @id, @by, @text, @now)",
                new { replyId, id = complaintId, by = http.Operator().OperatorId, text, now = nowUs }, tx, cancellationToken: ct));
            await EventLog.AppendAsync(connection, tx,
                [new ComplaintReplied(complaintId, userId.Value, replyId) { EventId = DomainEvent.IdFor<ComplaintReplied>(replyId.ToString("N")), OccurredAtUs = nowUs }], ct);
            await tx.CommitAsync(ct);
        }
        events.Nudge();
        return Results.Json(await store.BodyAsync((await store.FindAsync(complaintId, ct))!, ct), JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    }
}
