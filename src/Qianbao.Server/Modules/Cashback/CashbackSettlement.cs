using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Cashback;

/// <summary>
/// Posts pending cashback whose settle time has come: a post of the credit's live pending transfer (the amount refunds left
/// of it), with its row changed from the version read and the <c>cashback.posted</c> event, in one transaction. A refund that
/// changed the credit meanwhile fails the guard and the next sweep reads it again. Safe with a sweeper in every process.
/// </summary>
internal sealed class CashbackSettlement(CashbackStore store, MoneyPipeline pipeline, CashbackOptions options, TimeProvider clock,
    ILogger<CashbackSettlement> logger)
{
    /// <summary>Posts up to <c>CashbackSettleBatchMax</c> due credits; returns how many it looked at.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        var due = await store.DueAsync(nowUs, options.CashbackSettleBatchMax, ct);
        foreach (var credit in due)
        {
            var pending = credit.pending_transfer_id!.Value;
            var post = new Transfer(new TransferId(StableId.From("cashback/post", pending.ToString("N"))), default, default, 0, credit.Currency,
                TransferCodes.CashbackCredit, TransferFlags.PostPending, new TransferId(pending), Reference: credit.trade_no);
            var outcome = await pipeline.SubmitAsync(new LedgerCommand([post], guard: new CashbackGuard(credit.trade_no, credit.version),
                effects: _ => [new CashbackSettled(credit.trade_no, credit.version, nowUs), CashbackSubscriber.Posted(credit, credit.Amount, nowUs)]), ct);
            if (outcome.Kind is not (MoneyOutcomeKind.Applied or MoneyOutcomeKind.GuardRejected))
                logger.LogError("Settling the cashback of {Trade} failed: {Kind} {Results}", credit.trade_no, outcome.Kind, string.Join(",", outcome.Results));
        }
        return due.Count;
    }
}

/// <summary>Runs <see cref="CashbackSettlement"/> every <c>CashbackSettleSweepIntervalMs</c> (at once again after a full batch).</summary>
internal sealed class CashbackSettleSweeper(CashbackSettlement settlement, CashbackOptions options, TimeProvider clock, ILogger<CashbackSettleSweeper> logger)
    : PeriodicSweep(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(options.CashbackSettleSweepIntervalMs);

    protected override string Activity => "Settling cashback";

    protected override async Task<SweepPass> PassAsync(CancellationToken ct) =>
        await settlement.SweepOnceAsync(ct) >= options.CashbackSettleBatchMax ? SweepPass.MoreDue : SweepPass.Done;
}
