using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.RedPackets;

/// <summary>
/// Returns what no one claimed to the sender once a packet expires: per pass, at most <c>SweepBatchMax</c> due packets, each
/// one ledger command (escrow → sender's wallet, the sum of the unclaimed shares) whose guard checks the packet still open
/// with exactly the unclaimed shares the sum was taken from, and whose effect marks it expired. Exactly once whatever the
/// processes and retries: the refund's id derives from the packet, and once expired the guard refuses a second one. A claim
/// racing the sweep is decided by the guard's lock: whichever commits first wins, and the other is refused (the claim as
/// <c>expired</c>, the sweep until its next pass).
/// </summary>
internal sealed class RedPacketSweeper(RedPacketStore store, MoneyPipeline money, LedgerAccounts accounts, TimeProvider clock, RedPacketsOptions options,
    ILogger<RedPacketSweeper> logger) : PeriodicSweep(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(options.SweepIntervalMs);

    protected override string Activity => "Red packet expiry pass";

    protected override async Task<SweepPass> PassAsync(CancellationToken ct)
    {
        await RunOnceAsync(ct);
        return SweepPass.Done;
    }

    /// <summary>One pass; answers how many packets it returned. Public so tests can drive it after moving the clock.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var nowUs = Clock.GetUnixMicroseconds();
        var returned = 0;
        foreach (var packet in await store.DueAsync(nowUs, options.SweepBatchMax, ct))
        {
            var open = (await store.SharesAsync(packet.id, ct)).Where(s => s.claimed_by is null).ToArray();
            if (open.Length == 0) continue;
            var rest = open.Sum(s => s.amount);
            var currency = Currency.Parse(packet.currency);
            var wallet = ChartOfAccounts.UserWallet(packet.sender_id, currency);
            await accounts.EnsureAsync(wallet, packet.sender_id, ct);
            var refund = new Transfer(new TransferId(StableId.From("red-packet-refund", packet.id.ToString("N"))),
                ChartOfAccounts.RedPacket(packet.id, currency).Id, wallet.Id, rest, currency, TransferCodes.RedPacketRefund, Reference: "red-packet");
            var command = new LedgerCommand([refund], guard: new RedPacketGuard(RedPacketGuardKind.Expire, packet.id, nowUs, Unclaimed: open.Length),
                effects: _ =>
                [
                    new RedPacketClosed(packet.id, rest, nowUs),
                    new RedPacketExpired(packet.id, packet.sender_id, rest, open.Length, packet.currency)
                    {
                        EventId = DomainEvent.IdFor<RedPacketExpired>(packet.id.ToString("N")), OccurredAtUs = nowUs,
                    },
                ]);
            var outcome = await money.SubmitAsync(command, ct);
            switch (outcome.Kind)
            {
                case MoneyOutcomeKind.Applied:
                    returned++;
                    break;
                case MoneyOutcomeKind.GuardRejected:
                    break; // a claim or another process got there first: the next pass decides on fresh state
                case MoneyOutcomeKind.Refused:
                case MoneyOutcomeKind.LedgerRejected:
                default:
                    // No policy refuses a credit to a wallet, and the escrow holds exactly the unclaimed shares.
                    Logger.LogError("Returning red packet {PacketId} failed with {Kind} {Results}", packet.id, outcome.Kind, string.Join(",", outcome.Results));
                    break;
            }
        }
        return returned;
    }
}
