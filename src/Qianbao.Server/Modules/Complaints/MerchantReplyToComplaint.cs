using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Merchants.Accounts;
using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Modules.Complaints;

/// <summary>
/// <c>POST /merchant/v1/complaints/{id}/replies {text}</c> (admin, cashier) → 201 the complaint as the merchant sees it, with
/// the new reply (<c>from: "merchant"</c>). The user reads it in <c>GET /v1/complaints/{id}</c> as the merchant's and is told
/// (the <c>complaint.replied</c> event, as for support's replies). The merchant's answer does not change the status: the
/// complaint stays in support's queue until support decides it. The reply and the event commit together; a resolved
/// complaint takes no more replies (409 <c>complaint_closed</c>); another merchant's complaint is 404.
/// </summary>
internal static class MerchantReplyToComplaint
{
    public sealed record Request(string? Text);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/merchant/v1/complaints/{id}/replies", HandleAsync).RequireMerchant(MerchantRole.Cashier).WithTags("Merchant");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, ComplaintStore store, UserDirectory users, EventSignal events, TimeProvider clock,
        CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (ComplaintStore.CleanText(request!.Text, ComplaintStore.TextLengthMax) is not { } text)
            return ApiProblem.BadRequest(ErrorCodes.InvalidText, $"text must be 1-{ComplaintStore.TextLengthMax} characters.");
        var merchant = http.Merchant();
        if (await MerchantComplaints.FindOwnAsync(store, id, merchant.MerchantId, ct) is not { } complaint) return ApiProblem.NotFound();

        var nowUs = clock.GetUnixMicroseconds();
        var replyId = Guid.CreateVersion7();
        await using (var connection = await store.Db.OpenAsync(ct))
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            // Only while open, in one statement: a reply racing a resolution lands before it or not at all.
            var changed = await connection.ExecuteAsync(new CommandDefinition($"""
                UPDATE complaints SET updated_at_us = @now
                WHERE id = @id AND merchant_id = @merchantId AND status IN ({(int)ComplaintStatus.Open}, {(int)ComplaintStatus.InProgress})
                """, new { id = complaint.id, merchantId = merchant.MerchantId, now = nowUs }, tx, cancellationToken: ct));
            if (changed == 0)
            {
                await tx.RollbackAsync(ct);
                return ApiProblem.Conflict(ErrorCodes.ComplaintClosed, "The complaint is resolved: it takes no more replies.");
            }
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO complaint_replies (id, complaint_id, merchant_staff_id, text, created_at_us) VALUES (@replyId, @id, @by, @text, @now)",
                new { replyId, id = complaint.id, by = merchant.StaffId, text, now = nowUs }, tx, cancellationToken: ct));
            await EventLog.AppendAsync(connection, tx,
                [new ComplaintReplied(complaint.id, complaint.user_id, replyId) { EventId = DomainEvent.IdFor<ComplaintReplied>(replyId.ToString("N")), OccurredAtUs = nowUs }],
                ct);
            await tx.CommitAsync(ct);
        }
        events.Nudge();
        return Results.Json(await MerchantComplaints.BodyAsync(store, users, (await store.FindAsync(complaint.id, ct))!, ct), JsonDefaults.Options,
            statusCode: StatusCodes.Status201Created);
    }
}
