using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Wallet;

/// <summary>
/// <c>POST /v1/withdrawals</c> <c>{amount, currency}</c> → 202 <c>{id, status:"pending"}</c>. A hold reserves
/// the amount in the wallet (so it cannot be spent twice); the channel pays out; success posts the hold,
/// failure voids it and the money is spendable again. 422 <c>insufficient_funds</c> when the wallet cannot cover it.
/// </summary>
internal static class CreateWithdrawal
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/v1/withdrawals", (HttpContext http, Money.Idempotency idempotency, MoneyMovement money, LedgerAccounts accounts,
                IFundingChannel channel, TimeProvider clock, CancellationToken ct) =>
            ChannelHoldFlow.HandleAsync(ChannelOrderKind.Payout, http, idempotency, money, accounts, channel, clock, ct))
            .RequireUser().WithTags("Withdrawals");
}
