using System.Text.Json;
using Qianbao.Ledger;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Identity.Limits;
using Qianbao.Server.Modules.Identity.Spending;
using Qianbao.Server.Modules.Identity.Tiers;
using Qianbao.Server.Money;

using Qianbao.Server.Hosting;
using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Modules.Wallet;

/// <summary>
/// <c>POST /v1/transfers</c> <c>{to_phone | to_user_id, amount, currency, note}</c> → 201 <c>{id, status:"completed", ...}</c>.
/// Moves money from the caller's wallet to another person's, at once. Requires Idempotency-Key.
/// </summary>
internal static class CreateTransfer
{
    public sealed record Request(string? ToPhone, string? ToUserId, JsonElement? Amount, string? Currency, string? Note);

    public const int NoteLengthMax = 140;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/transfers", HandleAsync).RequireUser().WithTags("Transfers");

    private static async Task<IResult> HandleAsync(HttpContext http, UserDirectory users, Idempotency idempotency, MoneyMovement money,
        LedgerAccounts accounts, SpendingGate gate, TierGate tiers, TierLimits limits, TimeProvider clock, CancellationToken ct)
    {
        var (request, bytes, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (AmountInput.TryParse(request!.Amount, request.Currency, out var amount, out var currency) is { } invalid) return invalid;
        if (request.Note is { Length: > NoteLengthMax } || (request.Note?.Any(char.IsControl) ?? false))
            return ApiProblem.BadRequest("invalid_note", $"note must be at most {NoteLengthMax} printable characters.");
        if ((request.ToPhone is null) == (request.ToUserId is null))
            return ApiProblem.BadRequest("invalid_recipient", "Give exactly one of to_phone and to_user_id.");
        if (await gate.CheckAsync(http, SpendKind.Transfer, amount, ct) is { } refused) return refused;

        var userId = http.UserId();
        // Not looked up now: the transfer's batch is guarded by the key instead (MoneyMovement), one round trip less per transfer.
        var (idem, done) = await idempotency.BeginAsync(http, userId.ToString("N"), bytes!, ct, lookUp: false);
        if (done is not null) return done;

        var recipient = await FindRecipientAsync(users, request, ct);
        if (recipient is null) return ApiProblem.Unprocessable("recipient_not_found", "No user has that phone number or id.");
        if (recipient == userId) return ApiProblem.Unprocessable("same_wallet", "A transfer needs a recipient other than yourself.");
        if (await tiers.CheckRecipientAsync(recipient.Value, ct) is { } unverified) return unverified;

        var from = ChartOfAccounts.UserWallet(userId, currency);
        var to = ChartOfAccounts.UserWallet(recipient.Value, currency);
        await accounts.EnsureAsync(from, userId, ct);
        await accounts.EnsureAsync(to, recipient, ct);

        var id = new TransferId(StableId.From("transfer", idem!.Name));
        var transfer = new Transfer(id, from.Id, to.Id, amount, currency, TransferCodes.PeerTransfer, Reference: request.Note);
        // The tier limits ride in the transfer's chain, before it: a cap reached refuses the transfer in the same transaction.
        var limited = await limits.ForPaymentAsync(userId, id, amount, currency, ct);
        var createdAt = clock.GetUtcNow();
        var result = await money.ExecuteAsync(idem, [.. limited.Transfers, transfer], () => (StatusCodes.Status201Created, new
        {
            id = id.Value, status = "completed", amount, currency = currency.Code, to_user_id = recipient.Value,
            note = request.Note, created_at = createdAt,
        }), ct, [new TransferCompleted(id.Value, userId, recipient.Value, amount, currency.Code)
        {
            EventId = DomainEvent.IdFor<TransferCompleted>(id.Value.ToString("N")), OccurredAtUs = createdAt.ToUnixMicroseconds(),
        }], limited.Count == 0 ? null : new LedgerFailureAnswer(
            (index, failure) => limited.ExceededAt(index, failure) is not null,
            (index, failure, token) => limits.ExceededAsync(userId, limited.ExceededAt(index, failure)!.Value, token)));
        if (result is RawJsonResult { StatusCode: StatusCodes.Status201Created }) limits.Applied(limited);
        return result;
    }

    private static async Task<Guid?> FindRecipientAsync(UserDirectory users, Request request, CancellationToken ct)
    {
        if (request.ToUserId is not null)
            return Guid.TryParse(request.ToUserId, out var id) && await users.ExistsAsync(id, ct) ? id : null;
        return PhoneNumber.TryNormalize(request.ToPhone, out var phone) ? await users.FindByPhoneAsync(phone, ct) : null;
    }
}
