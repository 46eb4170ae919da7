using Qianbao.Ledger;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Channels;

/// <summary>
/// Turns a channel outcome into the ledger's answer to the hold behind the order: post it on success,
/// void it on failure. The post or void has an id derived from the order, so a repeated callback or a
/// reconciliation racing a callback applies at most once.
/// </summary>
public sealed class ChannelSettlement(MoneyPipeline money, ILogger<ChannelSettlement> logger) : IChannelOutcomeSink
{
    public async Task OnOutcomeAsync(Guid orderId, bool succeeded, CancellationToken ct)
    {
        var hold = await money.GetTransferAsync(new TransferId(orderId), ct);
        if (hold is null || hold.State != PendingState.Pending) return;
        var transfer = new Transfer(new TransferId(StableId.From("channel-outcome", orderId.ToString("N"))), default, default, 0,
            hold.Currency, hold.Code, succeeded ? TransferFlags.PostPending : TransferFlags.VoidPending, hold.Id);
        var result = (await money.SubmitAsync(transfer, ct)).Results[0];
        if (result is not (TransferResult.Created or TransferResult.Exists or TransferResult.PendingTransferAlreadyPosted
            or TransferResult.PendingTransferAlreadyVoided or TransferResult.PendingTransferExpired))
            throw new InvariantViolationException($"settling channel order {orderId} gave {result}");
        logger.LogInformation("Channel order {OrderId} {Outcome}: {Result}", orderId, succeeded ? "succeeded" : "failed", result);
    }
}
