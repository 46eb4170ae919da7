using System.Text.Json;
using Qianbao.Ledger;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Identity.Spending;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Channels;

/// <summary>
/// What top-ups and withdrawals share: a hold between the wallet and the channel's clearing account (toward
/// the wallet for a top-up, away from it for a withdrawal), an order at the funding channel, and the
/// channel's answer posting or voiding the hold. Requires an Idempotency-Key; answers 202 <c>{id, status:"pending"}</c>.
/// </summary>
internal static class ChannelHoldFlow
{
    public sealed record Request(JsonElement? Amount, string? Currency);

    public static async Task<IResult> HandleAsync(ChannelOrderKind kind, HttpContext http, Idempotency idempotency, MoneyMovement money,
        LedgerAccounts accounts, IFundingChannel channel, TimeProvider clock, CancellationToken ct)
    {
        var userId = http.UserId();
        var gate = http.RequestServices.GetRequiredService<SpendingGate>();
        return await HandleAsync(kind, userId, currency => ChartOfAccounts.UserWallet(userId, currency), http, idempotency, money, accounts, channel, clock, ct,
            (amount, token) => gate.CheckAsync(http, kind == ChannelOrderKind.Collect ? SpendKind.TopUp : SpendKind.Withdrawal, amount, token));
    }

    /// <param name="owner">Whose account it is: the idempotency scope and the account's owner.</param>
    /// <param name="accountFor">The credit-normal account the money enters or leaves, per currency (a wallet, a merchant's settlement).</param>
    public static async Task<IResult> HandleAsync(ChannelOrderKind kind, Guid owner, Func<Currency, Account> accountFor, HttpContext http,
        Idempotency idempotency, MoneyMovement money, LedgerAccounts accounts, IFundingChannel channel, TimeProvider clock, CancellationToken ct,
        Func<long, CancellationToken, ValueTask<IResult?>>? gate = null)
    {
        var (request, bytes, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (AmountInput.TryParse(request!.Amount, request.Currency, out var amount, out var currency) is { } invalid) return invalid;
        if (gate is not null && await gate(amount, ct) is { } refused) return refused;
        var (idem, done) = await idempotency.BeginAsync(http, owner.ToString("N"), bytes!, ct);
        if (done is not null) return done;

        var wallet = accountFor(currency);
        var clearing = ChartOfAccounts.ChannelClearing(channel.Name, currency);
        await accounts.EnsureAsync(wallet, owner, ct);
        await accounts.EnsureAsync(clearing, null, ct);

        // No TimeoutSeconds: a channel hold resolves only by the channel's answer (callback or query), never by a local
        // clock, because a hold released here while the bank still pays would both pay out and refund.
        var collect = kind == ChannelOrderKind.Collect;
        var id = new TransferId(StableId.From(collect ? "topup" : "withdrawal", idem!.Name));
        var hold = collect
            ? new Transfer(id, clearing.Id, wallet.Id, amount, currency, TransferCodes.TopUp, TransferFlags.Pending)
            : new Transfer(id, wallet.Id, clearing.Id, amount, currency, TransferCodes.Withdrawal, TransferFlags.Pending);
        var createdAt = clock.GetUtcNow();
        var result = await money.ExecuteAsync(idem, [hold], () => (StatusCodes.Status202Accepted, new
        {
            id = id.Value, status = "pending", amount, currency = currency.Code, created_at = createdAt,
        }), ct);

        // Only once the hold is durable is the channel asked; a crash in between is what reconciliation re-submits.
        if (result is RawJsonResult { StatusCode: StatusCodes.Status202Accepted })
            await channel.SubmitAsync(new ChannelOrder(id.Value, kind, amount, currency), ct);
        return result;
    }
}
