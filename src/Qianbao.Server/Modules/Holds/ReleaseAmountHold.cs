using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Holds;

/// <summary>
/// <c>DELETE /admin/v1/users/{id}/holds/{hold_id}</c> (risk) → 200 the hold with <c>status:"released"</c>: voids its pending
/// transfer, so the money is spendable again. Exactly once (the void's id derives from the hold): releasing a released
/// hold answers it again; a deducted hold cannot be released (409 <c>hold_not_held</c>).
/// </summary>
internal static class ReleaseAmountHold
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapDelete("/admin/v1/users/{id}/holds/{holdId}", HandleAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, string holdId, HttpContext http, AmountHolds holds, MoneyPipeline money, TimeProvider clock,
        CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var userId) || !Guid.TryParse(holdId, out var hold)) return ApiProblem.NotFound();
        var row = await holds.FindAsync(userId, hold, ct);
        if (row is null) return ApiProblem.NotFound();
        if (row.Status == AmountHoldStatus.Released) return Results.Json(row.Body(), JsonDefaults.Options);
        if (row.Status == AmountHoldStatus.Deducted) return NotHeld();

        var currency = Currency.Parse(row.currency);
        var release = new Transfer(new TransferId(StableId.From("amount-hold-release", hold.ToString("N"))), default, default, 0, currency,
            TransferCodes.JudicialHold, TransferFlags.VoidPending, new TransferId(hold));
        var change = new AmountHoldResolved(hold, AmountHoldStatus.Released, null, http.Operator().OperatorId, clock.GetUnixMicroseconds());
        var outcome = await money.SubmitAsync(new LedgerCommand([release], effects: _ => [change]), ct);
        return outcome.Kind switch
        {
            MoneyOutcomeKind.Applied => Results.Json((await holds.FindAsync(userId, hold, ct))!.Body(), JsonDefaults.Options),
            // Deducted by a concurrent request between our read and the batch.
            MoneyOutcomeKind.LedgerRejected when outcome.Results[0] is TransferResult.PendingTransferAlreadyPosted => NotHeld(),
            _ => throw new InvariantViolationException($"releasing amount hold {hold} failed with {outcome.Kind} {string.Join(",", outcome.Results)}"),
        };
    }

    public static IResult NotHeld() => ApiProblem.Conflict(ErrorCodes.HoldNotHeld, "The hold is no longer held: it was released or deducted.");
}
