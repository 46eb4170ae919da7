using System.Text.Json;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Holds;

/// <summary>
/// <c>POST /admin/v1/users/{id}/holds {amount, currency, reason, reference}</c> (risk; Idempotency-Key) → 201
/// <c>{id, user_id, amount, currency, reason, reference, status:"held", ...}</c>: holds that much of the wallet, as a
/// court order asks, by a pending transfer from the wallet to the judicial-hold account with no timeout (only an
/// operator releases it, <see cref="ReleaseAmountHold"/>, or finance deducts it, <see cref="DeductAmountHold"/>). The
/// wallet's available balance drops by the amount; the rest stays spendable. 422 <c>insufficient_funds</c> when the
/// available balance is short (nothing moves: a partial hold is not what the order said). A frozen wallet can still be
/// held: the freeze policy lets judicial holds through, as the court's claim is not the owner spending.
/// </summary>
internal static class PlaceAmountHold
{
    public sealed record Request(JsonElement? Amount, string? Currency, string? Reason, string? Reference);

    /// <summary>Longest order reference (a court's case number).</summary>
    public const int ReferenceLengthMax = 64;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/users/{id}/holds", HandleAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, UserDirectory users, Idempotency idempotency, MoneyMovement money,
        LedgerAccounts accounts, TimeProvider clock, CancellationToken ct)
    {
        var (request, bytes, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (AmountInput.TryParse(request!.Amount, request.Currency, out var amount, out var currency) is { } invalid) return invalid;
        var reason = request.Reason?.Trim();
        if (string.IsNullOrEmpty(reason) || reason.Length > Money.Freezes.ReasonLengthMax || reason.Any(char.IsControl))
            return ApiProblem.BadRequest(ErrorCodes.InvalidReason, $"reason must be 1-{Money.Freezes.ReasonLengthMax} printable characters.");
        var reference = request.Reference?.Trim();
        if (string.IsNullOrEmpty(reference) || reference.Length > ReferenceLengthMax || reference.Any(char.IsControl))
            return ApiProblem.BadRequest(ErrorCodes.InvalidReference, $"reference (the court order's number) must be 1-{ReferenceLengthMax} printable characters.");
        if (!Guid.TryParse(id, out var userId) || !await users.ExistsAsync(userId, ct)) return ApiProblem.NotFound();

        var (idem, done) = await idempotency.BeginAsync(http, "amount-hold/" + userId.ToString("N"), bytes!, ct);
        if (done is not null) return done;

        var wallet = ChartOfAccounts.UserWallet(userId, currency);
        var judicial = ChartOfAccounts.JudicialHold(currency);
        await accounts.EnsureAsync(wallet, userId, ct);
        await accounts.EnsureAsync(judicial, null, ct);

        var holdId = new TransferId(StableId.From("amount-hold", idem!.Name));
        // TimeoutSeconds 0: a court's hold lasts until an operator acts on it, never until a clock says so.
        var hold = new Transfer(holdId, wallet.Id, judicial.Id, amount, currency, TransferCodes.JudicialHold, TransferFlags.Pending, Reference: reference);
        var by = http.Operator().OperatorId;
        var nowUs = clock.GetUnixMicroseconds();
        var row = new AmountHoldRow
        {
            id = holdId.Value, user_id = userId, amount = amount, currency = currency.Code, reason = reason, reference = reference,
            status = (short)AmountHoldStatus.Held, created_by = by, created_at_us = nowUs,
        };
        return await money.ExecuteAsync(idem, [hold], () => (StatusCodes.Status201Created, row.Body()), ct,
            effects: [new AmountHoldPlaced(holdId.Value, userId, amount, currency.Code, reason, reference, by, nowUs)]);
    }
}
