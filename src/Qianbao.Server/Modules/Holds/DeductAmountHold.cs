using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Holds;

/// <summary>
/// <c>POST /admin/v1/users/{id}/holds/{hold_id}/deduct {payee_account?}</c> (finance) → 200 the hold with
/// <c>status:"deducted"</c>: posts the hold (the wallet's money moves to the judicial-hold account) and passes the same
/// amount on to the payee in one linked chain, so the judicial-hold account is left as it was and the ledger balances.
/// <c>payee_account</c>:
/// <list type="bullet">
/// <item><c>court_remittance</c> (default): the court-remittance account of the hold's order reference — a liability,
/// "owed to this court", that finance pays by bank transfer outside the wallet;</item>
/// <item><c>channel_clearing</c>: the default funding channel's clearing account — the money left through the channel,
/// as a payout does (finance paid the court from the platform's bank account).</item>
/// </list>
/// Exactly once (ids derive from the hold): deducting a deducted hold to the same payee answers it again; to another
/// payee, or a released hold, is 409 <c>hold_not_held</c>.
/// </summary>
internal static class DeductAmountHold
{
    public sealed record Request(string? PayeeAccount);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/users/{id}/holds/{holdId}/deduct", HandleAsync).RequireOperator(OperatorRole.Finance).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, string holdId, HttpContext http, AmountHolds holds, MoneyPipeline money, LedgerAccounts accounts,
        IFundingChannel channel, TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!HoldNames.TryParsePayee(request!.PayeeAccount, out var payee))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPayee, "payee_account must be court_remittance (the default) or channel_clearing.");
        if (!Guid.TryParse(id, out var userId) || !Guid.TryParse(holdId, out var hold)) return ApiProblem.NotFound();
        var row = await holds.FindAsync(userId, hold, ct);
        if (row is null) return ApiProblem.NotFound();
        var payeeName = HoldNames.Of(payee);
        if (row.Status == AmountHoldStatus.Deducted && row.payee == payeeName) return Results.Json(row.Body(), JsonDefaults.Options);
        if (row.Status != AmountHoldStatus.Held) return ReleaseAmountHold.NotHeld();

        var currency = Currency.Parse(row.currency);
        var judicial = ChartOfAccounts.JudicialHold(currency);
        var to = payee == HoldPayee.CourtRemittance ? ChartOfAccounts.CourtRemittance(row.reference, currency) : ChartOfAccounts.ChannelClearing(channel.Name, currency);
        await accounts.EnsureAsync(to, null, ct);

        var key = hold.ToString("N");
        Transfer[] transfers =
        [
            new(new TransferId(StableId.From("amount-hold-post", key)), default, default, 0, currency, TransferCodes.JudicialHold,
                TransferFlags.PostPending | TransferFlags.Linked, new TransferId(hold)),
            new(new TransferId(StableId.From("amount-hold-deduct", key)), judicial.Id, to.Id, row.amount, currency, TransferCodes.JudicialDeduction,
                Reference: row.reference),
        ];
        var change = new AmountHoldResolved(hold, AmountHoldStatus.Deducted, payeeName, http.Operator().OperatorId, clock.GetUnixMicroseconds());
        var outcome = await money.SubmitAsync(new LedgerCommand(transfers, effects: _ => [change]), ct);
        return outcome.Kind switch
        {
            MoneyOutcomeKind.Applied => Results.Json((await holds.FindAsync(userId, hold, ct))!.Body(), JsonDefaults.Options),
            // Released, or deducted to another payee, by a concurrent request between our read and the batch.
            MoneyOutcomeKind.LedgerRejected when outcome.Results[0] is TransferResult.PendingTransferAlreadyVoided
                || outcome.Results.Any(r => r.IsExistsMismatch()) => ReleaseAmountHold.NotHeld(),
            _ => throw new InvariantViolationException($"deducting amount hold {hold} failed with {outcome.Kind} {string.Join(",", outcome.Results)}"),
        };
    }
}
