using System.ComponentModel.DataAnnotations;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money;

using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Channels;

/// <summary>Settings of <see cref="HoldMaintenance"/> (configuration section <c>Qianbao:Holds</c>).</summary>
internal sealed class HoldMaintenanceOptions
{
    /// <summary>Pause between passes, in milliseconds (10..600000): below 10 the loop would spin on the database.</summary>
    [Range(10, 600_000)]
    public int IntervalMs { get; set; } = 2_000;

    /// <summary>
    /// A channel order older than this with no outcome is asked about, and re-submitted if the channel lost it, in
    /// milliseconds (100..86400000, i.e. at most a day).
    /// </summary>
    [Range(100, 86_400_000)]
    public int ReconcileAfterMs { get; set; } = 10_000;

    /// <summary>Most holds handled per pass and kind (1..10000).</summary>
    [Range(1, 10_000)]
    public int BatchMax { get; set; } = 500;
}

/// <summary>
/// Keeps holds moving after a crash or a lost callback: (1) channel orders with no outcome are asked
/// about (at the channel each was placed with) and settled or re-submitted; (2) holds past their timeout
/// are released (the ledger marks them expired), except channel holds, which only the channel's answer
/// resolves; (3) idempotency records past retention are purged.
/// </summary>
internal sealed class HoldMaintenance(
    LedgerHolds holds, MoneyPipeline money, FundingChannels channels, IChannelOutcomeSink outcomes, Idempotency idempotency,
    TimeProvider clock, HoldMaintenanceOptions options, ILogger<HoldMaintenance> logger) : PeriodicSweep(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(options.IntervalMs);

    protected override string Activity => "Hold maintenance pass";

    protected override async Task<SweepPass> PassAsync(CancellationToken ct)
    {
        await RunOnceAsync(ct);
        return SweepPass.Done;
    }

    /// <summary>One pass; public so tests can drive it without waiting for the interval.</summary>
    public async Task RunOnceAsync(CancellationToken ct)
    {
        var nowUs = Clock.GetUnixMicroseconds();
        foreach (var hold in await holds.CreatedBeforeAsync(ChannelHoldCodes, nowUs - options.ReconcileAfterMs * 1000L, options.BatchMax, ct))
        {
            var channel = channels.ForHold(hold.DebitAccountId, hold.CreditAccountId, hold.Code, hold.Currency);
            if (channel is null)
            {
                // Its channel was removed from the configuration: nobody can answer for it, so it stays pending for an operator.
                Logger.LogWarning("Channel hold {OrderId} belongs to no configured channel; left pending", hold.Id);
                continue;
            }

            switch (await channel.QueryAsync(hold.Id, ct))
            {
                case ChannelOrderStatus.Succeeded: await outcomes.OnOutcomeAsync(channel.Name, hold.Id, true, ct); break;
                case ChannelOrderStatus.Failed: await outcomes.OnOutcomeAsync(channel.Name, hold.Id, false, ct); break;
                case ChannelOrderStatus.Unknown:
                    Logger.LogInformation("Re-submitting channel order {OrderId}", hold.Id);
                    await channel.SubmitAsync(ChannelOrderFor(hold), ct);
                    break;
                case ChannelOrderStatus.Processing: break;
            }
        }

        // Channel holds are left out even if they carry a timeout (created before the rule): releasing one while the
        // channel may still succeed would both pay out and refund. ChannelSettlement books a late success instead.
        foreach (var hold in await holds.ExpiredAsync(ChannelHoldCodes, nowUs, options.BatchMax, ct))
        {
            var release = new Transfer(new TransferId(StableId.From("hold-expiry", hold.Id.ToString("N"))), default, default, 0,
                hold.Currency, hold.Code, TransferFlags.VoidPending, new TransferId(hold.Id));
            await money.SubmitAsync(release, ct);
        }

        await idempotency.PurgeAsync(ct);
    }

    /// <summary>The transfer codes of channel holds: only the channel's answer settles them.</summary>
    private static readonly ushort[] ChannelHoldCodes = [TransferCodes.TopUp, TransferCodes.Withdrawal];

    public static ChannelOrder ChannelOrderFor(LiveHold hold) => new(hold.Id,
        hold.Code == TransferCodes.TopUp ? ChannelOrderKind.Collect : ChannelOrderKind.Payout, hold.Amount, hold.Currency);
}
