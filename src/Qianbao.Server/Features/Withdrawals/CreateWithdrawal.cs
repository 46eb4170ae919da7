using System.Text.Json;
using Qianbao.Ledger;
using Qianbao.Server.Auth;
using Qianbao.Server.Channels;
using Qianbao.Server.Features.TopUps;
using Qianbao.Server.Features.Wallets;
using Qianbao.Server.Http;

namespace Qianbao.Server.Features.Withdrawals;

/// <summary>
/// <c>POST /v1/withdrawals</c> <c>{amount, currency}</c> → 202 <c>{id, status:"pending"}</c>. A hold reserves
/// the amount in the wallet (so it cannot be spent twice); the channel pays out; success posts the hold,
/// failure voids it and the money is spendable again. 422 <c>insufficient_funds</c> when the wallet cannot cover it.
/// </summary>
public static class CreateWithdrawal
{
    public sealed record Request(JsonElement? Amount, string? Currency);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/withdrawals", HandleAsync).RequireUser().WithTags("Withdrawals");

    private static async Task<IResult> HandleAsync(HttpContext http, Idempotency idempotency, MoneyMovement money, LedgerAccounts accounts,
        IFundingChannel channel, TimeProvider clock, CancellationToken ct)
    {
        var (request, bytes, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (AmountInput.TryParse(request!.Amount, request.Currency, out var amount, out var currency) is { } invalid) return invalid;
        var userId = http.UserId();
        var (idem, done) = await idempotency.BeginAsync(http, userId.ToString("N"), bytes!, ct);
        if (done is not null) return done;

        var wallet = ChartOfAccounts.UserWallet(userId, currency);
        var clearing = ChartOfAccounts.ChannelClearing(channel.Name, currency);
        await accounts.EnsureAsync(wallet, userId, ct);
        await accounts.EnsureAsync(clearing, null, ct);

        var id = new TransferId(StableId.From("withdrawal", idem!.Name));
        var hold = new Transfer(id, wallet.Id, clearing.Id, amount, currency, TransferCodes.Withdrawal, TransferFlags.Pending,
            TimeoutSeconds: CreateTopUp.HoldTimeoutSeconds);
        var createdAt = clock.GetUtcNow();
        var result = await money.ExecuteAsync(idem, [hold], () => (StatusCodes.Status202Accepted, new
        {
            id = id.Value, status = "pending", amount, currency = currency.Code, created_at = createdAt,
        }), ct);

        if (result is RawJsonResult { StatusCode: StatusCodes.Status202Accepted })
            await channel.SubmitAsync(new ChannelOrder(id.Value, ChannelOrderKind.Payout, amount, currency), ct);
        return result;
    }
}
