using Qianbao.Server.Auth;
using Qianbao.Server.Channels;
using Qianbao.Server.Features.Wallets;

namespace Qianbao.Server.Features.Withdrawals;

/// <summary>
/// <c>POST /v1/withdrawals</c> <c>{amount, currency}</c> → 202 <c>{id, status:"pending"}</c>. A hold reserves
/// the amount in the wallet (so it cannot be spent twice); the channel pays out; success posts the hold,
/// failure voids it and the money is spendable again. 422 <c>insufficient_funds</c> when the wallet cannot cover it.
/// </summary>
public static class CreateWithdrawal
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/v1/withdrawals", (HttpContext http, Http.Idempotency idempotency, MoneyMovement money, LedgerAccounts accounts,
                IFundingChannel channel, TimeProvider clock, CancellationToken ct) =>
            ChannelHoldFlow.HandleAsync(ChannelOrderKind.Payout, http, idempotency, money, accounts, channel, clock, ct))
            .RequireUser().WithTags("Withdrawals");
}
