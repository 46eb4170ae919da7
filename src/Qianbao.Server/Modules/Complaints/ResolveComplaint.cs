using System.Text.Json;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Modules.Complaints;

/// <summary>
/// <c>POST /admin/v1/complaints/{id}/resolve {decision: "refund"|"reject", amount?, note}</c> (support) → 200 the complaint,
/// <c>refunded</c> or <c>rejected</c>.
/// <list type="bullet">
/// <item><c>refund</c> refunds the complaint's trade from the merchant through the acquiring refund path, with request
/// number <c>complaint-&lt;id&gt;</c> (so exactly once, whatever the retries), <c>amount</c> in minor units defaulting to
/// all that is still refundable. The complaint's new state and its <c>complaint.resolved</c> event are effects of the
/// refund's ledger command: both commit with the postings or not at all. As for any refund: a merchant balance short
/// of it → 422 <c>merchant_balance_insufficient</c>, a frozen merchant → 422 <c>merchant_frozen</c>, more than is
/// refundable → 422 <c>refund_exceeds_paid</c>; the complaint stays open. A complaint without a trade, or a trade that
/// is not paid (or all refunded already), → 422 <c>complaint_not_refundable</c>.</item>
/// <item><c>reject</c> closes it without moving money.</item>
/// </list>
/// Resolving a resolved complaint with the same decision answers it again (nothing moves twice); with the other
/// decision it is 409 <c>complaint_closed</c>.
/// </summary>
internal static class ResolveComplaint
{
    public sealed record Request(string? Decision, JsonElement? Amount, string? Note);

    public const int NoteLengthMax = 500;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/complaints/{id}/resolve", HandleAsync).RequireOperator(OperatorRole.Support).WithTags("Operator");

    /// <summary>The acquiring refund request number of a complaint's refund.</summary>
    public static string RefundRequestNo(Guid complaintId) => "complaint-" + complaintId.ToString("N");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, ComplaintStore store, BuyerTrades trades, EventSignal events, TimeProvider clock,
        CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!ComplaintNames.TryParseDecision(request!.Decision, out var decision))
            return ApiProblem.BadRequest(ErrorCodes.InvalidDecision, "decision must be refund or reject.");
        if (ComplaintStore.CleanText(request.Note, NoteLengthMax) is not { } note)
            return ApiProblem.BadRequest(ErrorCodes.InvalidNote, $"note must be 1-{NoteLengthMax} characters.");
        if (decision == ComplaintDecision.Reject && request.Amount is { ValueKind: not JsonValueKind.Null })
            return ApiProblem.BadRequest(ErrorCodes.InvalidAmount, "A rejection moves no money: leave amount out.");
        if (!Guid.TryParse(id, out var complaintId) || await store.FindAsync(complaintId, ct) is not { } complaint) return ApiProblem.NotFound();
        if (ComplaintNames.IsClosed(complaint.Status)) return await AnswerClosedAsync(store, complaint, decision, ct);

        var by = http.Operator().OperatorId;
        return decision == ComplaintDecision.Reject
            ? await RejectAsync(store, complaint, note, by, events, clock, ct)
            : await RefundAsync(store, complaint, request.Amount, note, by, trades, clock, ct);
    }

    private static async Task<IResult> AnswerClosedAsync(ComplaintStore store, ComplaintRow complaint, ComplaintDecision decision, CancellationToken ct) =>
        complaint.Status == ComplaintNames.StatusFor(decision)
            ? Results.Json(await store.BodyAsync(complaint, ct), JsonDefaults.Options)
            : ApiProblem.Conflict(ErrorCodes.ComplaintClosed, $"The complaint is already {ComplaintNames.Of(complaint.Status)}.");

    private static async Task<IResult> RejectAsync(ComplaintStore store, ComplaintRow complaint, string note, Guid? by, EventSignal events, TimeProvider clock,
        CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        await using (var connection = await store.Db.OpenAsync(ct))
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            var changed = await connection.ExecuteAsync(new CommandDefinition($"""
                UPDATE complaints SET status = {(int)ComplaintStatus.Rejected}, resolution_note = @note, resolved_by = @by, resolved_at_us = @now, updated_at_us = @now
                WHERE id = @id AND status IN ({(int)ComplaintStatus.Open}, {(int)ComplaintStatus.InProgress})
                """, new { id = complaint.id, note, by, now = nowUs }, tx, cancellationToken: ct));
            if (changed == 1)
            {
                await EventLog.AppendAsync(connection, tx, [Resolved(complaint, ComplaintDecision.Reject, null, nowUs)], ct);
                await tx.CommitAsync(ct);
            }
        }
        events.Nudge();
        // Changed now, or resolved by a concurrent request: answer what is there.
        return await AnswerClosedAsync(store, (await store.FindAsync(complaint.id, ct))!, ComplaintDecision.Reject, ct);
    }

    private static async Task<IResult> RefundAsync(ComplaintStore store, ComplaintRow complaint, JsonElement? amountText, string note, Guid? by,
        BuyerTrades trades, TimeProvider clock, CancellationToken ct)
    {
        if (complaint.trade_no is null)
            return ApiProblem.Unprocessable(ErrorCodes.ComplaintNotRefundable, "Only a complaint about a trade can be refunded through the merchant.");
        var trade = await trades.FindAsync(complaint.trade_no, ct);
        if (trade is null || trade.status != TradeStatus.Success || trade.buyer_id != complaint.user_id)
            return ApiProblem.Unprocessable(ErrorCodes.ComplaintNotRefundable, "The trade is not paid, or is already refunded in full.");
        var refundable = trade.total_amount - trade.refunded_amount;
        long amount = refundable;
        if (amountText is { ValueKind: not JsonValueKind.Null })
        {
            if (AmountInput.TryParse(amountText, trade.currency, out amount, out _) is { } invalid) return invalid;
            if (amount > refundable)
                return ApiProblem.Unprocessable(ErrorCodes.RefundExceedsPaid, $"At most {refundable} (minor units) of the trade is still refundable.");
        }

        var nowUs = clock.GetUnixMicroseconds();
        var (outcome, _) = await trades.RefundAsync(trade, RefundRequestNo(complaint.id), amount,
            [new ComplaintRefundedChange(complaint.id, amount, trade.currency, note, by, nowUs), Resolved(complaint, ComplaintDecision.Refund, (amount, trade.currency), nowUs)],
            ct);
        return outcome switch
        {
            RefundOutcome.Refunded => Results.Json(await store.BodyAsync((await store.FindAsync(complaint.id, ct))!, ct), JsonDefaults.Options),
            RefundOutcome.MerchantBalanceInsufficient =>
                ApiProblem.Unprocessable(ErrorCodes.MerchantBalanceInsufficient, "The merchant's balance does not cover the refund; the complaint stays open."),
            RefundOutcome.MerchantFrozen => ApiProblem.Unprocessable(ErrorCodes.MerchantFrozen, "The merchant is frozen: it pays nothing out; the complaint stays open."),
            // The trade changed under the refund's guard: another refund, or this same resolution by a concurrent request.
            _ => await store.FindAsync(complaint.id, ct) is { } now && ComplaintNames.IsClosed(now.Status)
                ? await AnswerClosedAsync(store, now, ComplaintDecision.Refund, ct)
                : ApiProblem.Unprocessable(ErrorCodes.ComplaintNotRefundable, "The trade changed while refunding; try again."),
        };
    }

    private static ComplaintResolved Resolved(ComplaintRow c, ComplaintDecision decision, (long Amount, string Currency)? refund, long nowUs) =>
        new(c.id, c.user_id, ComplaintNames.Of(decision), refund?.Amount, refund?.Currency)
        {
            EventId = DomainEvent.IdFor<ComplaintResolved>(c.id.ToString("N")), OccurredAtUs = nowUs,
        };
}
