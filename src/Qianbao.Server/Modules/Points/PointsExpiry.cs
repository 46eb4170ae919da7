using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Points;

/// <summary>
/// Expires what remains of each earning lot once its time has come: a transfer of exactly the lot's remaining points from the
/// user's points account to the expired-points account, its id derived from the lot. The command's guard holds only while the
/// lot still has that much left and has not expired, and the effect zeroes it, so each lot expires once, and only what
/// clawbacks and redemptions (which consume lots first-in-first-out) left of it. Safe with a sweeper in every process.
/// </summary>
internal sealed class PointsExpiry(PointsStore store, LedgerAccounts accounts, MoneyPipeline pipeline, PointsOptions options, TimeProvider clock,
    ILogger<PointsExpiry> logger)
{
    public static Guid ExpiryId(Guid lotId) => StableId.From("points/expiry", lotId.ToString("N"));

    /// <summary>Expires up to <c>PointsExpiryBatchMax</c> due lots; returns how many it looked at.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken ct)
    {
        var due = await store.DueLotsAsync(clock.GetUnixMicroseconds(), options.PointsExpiryBatchMax, ct);
        if (due.Count == 0) return 0;
        var sink = ChartOfAccounts.PointsExpired();
        await accounts.EnsureAsync(sink, null, ct);
        foreach (var lot in due)
        {
            var id = ExpiryId(lot.id);
            var transfer = new Transfer(new TransferId(id), ChartOfAccounts.UserPoints(lot.user_id).Id, sink.Id, lot.remaining, Currency.Points,
                TransferCodes.PointsExpiry, Reference: lot.id.ToString("N"));
            var expired = new PointsLotExpired(lot.user_id, id, lot.expires_at_us, lot.id, lot.remaining);
            var outcome = await pipeline.SubmitAsync(new LedgerCommand([transfer], guard: new PointsUserGuard(lot.user_id, lot.id, lot.remaining),
                effects: _ => [expired]), ct);
            // A guard that no longer holds means a clawback or redemption consumed part of the lot since it was read: the next sweep
            // reads it again. Anything else is a bug worth a log line; the lot stays due and is tried again.
            if (outcome.Kind is not (MoneyOutcomeKind.Applied or MoneyOutcomeKind.GuardRejected))
                logger.LogError("Expiring points lot {Lot} failed: {Kind} {Results}", lot.id, outcome.Kind, string.Join(",", outcome.Results));
        }
        return due.Count;
    }
}

/// <summary>Runs <see cref="PointsExpiry"/> every <c>PointsExpirySweepIntervalMs</c> (at once again after a full batch).</summary>
internal sealed class PointsExpirySweeper(PointsExpiry expiry, PointsOptions options, TimeProvider clock, ILogger<PointsExpirySweeper> logger)
    : PeriodicSweep(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(options.PointsExpirySweepIntervalMs);

    protected override string Activity => "Expiring points";

    protected override async Task<SweepPass> PassAsync(CancellationToken ct) =>
        await expiry.SweepOnceAsync(ct) >= options.PointsExpiryBatchMax ? SweepPass.MoreDue : SweepPass.Done;
}
