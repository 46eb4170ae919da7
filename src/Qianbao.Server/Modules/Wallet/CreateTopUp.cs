using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Wallet;

/// <summary>
/// <c>POST /v1/topups</c> <c>{amount, currency}</c> → 202 <c>{id, status:"pending"}</c>. A hold moves the amount
/// from the channel's clearing account toward the wallet; the channel is asked to collect; its confirmation
/// posts the hold (status <c>succeeded</c>), its refusal voids it (<c>failed</c>).
/// </summary>
internal static class CreateTopUp
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/v1/topups", (HttpContext http, Money.Idempotency idempotency, MoneyMovement money, LedgerAccounts accounts,
                IFundingChannel channel, TimeProvider clock, CancellationToken ct) =>
            ChannelHoldFlow.HandleAsync(ChannelOrderKind.Collect, http, idempotency, money, accounts, channel, clock, ct))
            .RequireUser().WithTags("Top-ups");
}
