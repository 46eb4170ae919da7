using System.Text.Json;
using Qianbao.Ledger;
using Qianbao.Server.Auth;
using Qianbao.Server.Channels;
using Qianbao.Server.Features.Wallets;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;

namespace Qianbao.Server.Features.TopUps;

/// <summary>
/// <c>POST /v1/topups</c> <c>{amount, currency}</c> → 202 <c>{id, status:"pending"}</c>. A hold moves the amount
/// from the channel's clearing account toward the wallet; the channel is asked to collect; its confirmation
/// posts the hold (status <c>succeeded</c>), its refusal voids it (<c>failed</c>). Requires Idempotency-Key.
/// </summary>
public static class CreateTopUp
{
    public sealed record Request(JsonElement? Amount, string? Currency);

    /// <summary>A hold the channel has not settled within a day is released.</summary>
    public const uint HoldTimeoutSeconds = 24 * 3600;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/topups", HandleAsync).RequireUser().WithTags("Top-ups");

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

        var id = new TransferId(StableId.From("topup", idem!.Name));
        var hold = new Transfer(id, clearing.Id, wallet.Id, amount, currency, TransferCodes.TopUp, TransferFlags.Pending,
            TimeoutSeconds: HoldTimeoutSeconds);
        var createdAt = clock.GetUtcNow();
        var result = await money.ExecuteAsync(idem, [hold], () => (StatusCodes.Status202Accepted, new
        {
            id = id.Value, status = "pending", amount, currency = currency.Code, created_at = createdAt,
        }), ct);

        if (result is RawJsonResult { StatusCode: StatusCodes.Status202Accepted })
            await channel.SubmitAsync(new ChannelOrder(id.Value, ChannelOrderKind.Collect, amount, currency), ct);
        return result;
    }
}
