using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Channels;

/// <summary>
/// Turns a channel outcome into the ledger's answer to the hold behind the order: post it on success,
/// void it on failure. The post or void has an id derived from the order, so a repeated callback or a
/// reconciliation racing a callback applies at most once.
/// </summary>
internal sealed class ChannelSettlement(MoneyPipeline money, LedgerAccounts accounts, TimeProvider clock, ILogger<ChannelSettlement> logger) : IChannelOutcomeSink
{
    public async Task OnOutcomeAsync(string channel, Guid orderId, bool succeeded, CancellationToken ct)
    {
        var hold = await money.GetTransferAsync(new TransferId(orderId), ct);
        if (hold is null) return;
        var outcome = await OutcomeEventAsync(channel, hold, succeeded, ct);
        if (hold.State == PendingState.Expired)
        {
            if (succeeded) await BookLateSuccessAsync(hold, outcome, ct);
            return;
        }

        if (hold.State != PendingState.Pending) return;
        var transfer = new Transfer(ChannelOutcomeIds.Settle(orderId), default, default, 0,
            hold.Currency, hold.Code, succeeded ? TransferFlags.PostPending : TransferFlags.VoidPending, hold.Id);
        var result = (await money.SubmitAsync(new LedgerCommand([transfer], effects: _ => [outcome]), ct)).Results[0];
        if (result is not (TransferResult.Created or TransferResult.Exists or TransferResult.PendingTransferAlreadyPosted
            or TransferResult.PendingTransferAlreadyVoided or TransferResult.PendingTransferExpired))
            throw new InvariantViolationException($"settling channel order {orderId} gave {result}");
        logger.LogInformation("Channel order {OrderId} {Outcome}: {Result}", orderId, succeeded ? "succeeded" : "failed", result);
        // The ledger lapses a hold that carried a timeout when it is settled past it, releasing the amount. The bank did
        // move the money, so book the movement again, directly: otherwise a payout would be both paid and refunded.
        if (result == TransferResult.PendingTransferExpired && succeeded) await BookLateSuccessAsync(hold, outcome, ct);
    }

    /// <summary>
    /// The domain event of the outcome: a top-up or withdrawal succeeded or failed. Its id derives from the order, so a
    /// repeated callback appends nothing new.
    /// </summary>
    private async Task<DomainEvent> OutcomeEventAsync(string channel, TransferRecord hold, bool succeeded, CancellationToken ct)
    {
        var topUp = hold.Code == TransferCodes.TopUp;
        // The owner's side of the hold: a top-up credits the wallet, a withdrawal (or a merchant payout) debits it.
        var owner = await accounts.OwnerOfAsync(topUp ? hold.CreditAccountId : hold.DebitAccountId, ct) ?? Guid.Empty;
        var id = hold.Id.Value;
        var key = id.ToString("N");
        var at = clock.GetUnixMicroseconds();
        var currency = hold.Currency.Code;
        const string declined = "declined_by_channel";
        return (topUp, succeeded) switch
        {
            (true, true) => new TopUpSucceeded(id, owner, hold.Amount, currency, channel) { EventId = DomainEvent.IdFor<TopUpSucceeded>(key), OccurredAtUs = at },
            (true, false) => new TopUpFailed(id, owner, hold.Amount, currency, channel, declined) { EventId = DomainEvent.IdFor<TopUpFailed>(key), OccurredAtUs = at },
            (false, true) => new WithdrawalSucceeded(id, owner, hold.Amount, currency, channel) { EventId = DomainEvent.IdFor<WithdrawalSucceeded>(key), OccurredAtUs = at },
            (false, false) => new WithdrawalFailed(id, owner, hold.Amount, currency, channel, declined) { EventId = DomainEvent.IdFor<WithdrawalFailed>(key), OccurredAtUs = at },
        };
    }

    private async Task BookLateSuccessAsync(TransferRecord hold, DomainEvent outcome, CancellationToken ct)
    {
        var booking = new Transfer(ChannelOutcomeIds.LateSuccess(hold.Id.Value), hold.DebitAccountId, hold.CreditAccountId, hold.Amount,
            hold.Currency, hold.Code, TransferFlags.None, Reference: hold.Id.Value.ToString("N"));
        var result = (await money.SubmitAsync(new LedgerCommand([booking], effects: _ => [outcome]), ct)).Results[0];
        if (result is TransferResult.Created or TransferResult.Exists)
        {
            logger.LogWarning("Channel order {OrderId} succeeded after its hold had lapsed; booked the movement directly ({Result})", hold.Id.Value, result);
            return;
        }

        // Only a payout can get here (the wallet spent the released amount meanwhile): the bank paid, the wallet cannot
        // cover it again. That is a debt for an operator to settle, not something to retry forever.
        logger.LogError("Channel order {OrderId} succeeded after its hold had lapsed and could not be booked ({Result}); an operator must settle {Amount} {Currency}",
            hold.Id.Value, result, hold.Amount, hold.Currency.Code);
    }
}
