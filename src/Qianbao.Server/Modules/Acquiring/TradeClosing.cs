using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// Closes unpaid trades (on request, or when they expire). No money moves, so this is a plain transaction:
/// the state change and its domain event (which merchant notifications subscribe to) commit together. The conditional UPDATE races safely with a
/// payment, whose guard locks the same row.
/// </summary>
internal sealed class TradeClosing(Db db, EventSignal events, TimeProvider clock)
{
    /// <summary>True when this call closed the trade; false when it was no longer waiting for payment.</summary>
    public async Task<bool> CloseAsync(TradeRow trade, CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var closed = await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE trades SET status = '{TradeStatus.Closed}', closed_at_us = @now WHERE trade_no = @trade_no AND status = '{TradeStatus.WaitBuyerPay}'",
            new { now = nowUs, trade.trade_no }, tx, cancellationToken: ct)) == 1;
        if (closed)
        {
            await EventLog.AppendAsync(connection, tx, [new TradeClosed(trade.trade_no, trade.app_id, trade.out_trade_no, trade.merchant_id, trade.total_amount,
                trade.currency) { EventId = DomainEvent.IdFor<TradeClosed>(trade.trade_no), OccurredAtUs = nowUs }], ct);
        }
        await tx.CommitAsync(ct);
        if (closed) events.Nudge();
        return closed;
    }

    /// <summary>Closes up to <paramref name="limit"/> expired unpaid trades; returns how many.</summary>
    public async Task<int> CloseExpiredAsync(int limit, CancellationToken ct)
    {
        List<TradeRow> due;
        await using (var connection = await db.OpenAsync(ct))
        {
            due = (await connection.QueryAsync<TradeRow>(new CommandDefinition($"""
                SELECT {TradeRow.Columns} FROM trades
                WHERE status = '{TradeStatus.WaitBuyerPay}' AND expires_at_us <= @now ORDER BY expires_at_us LIMIT @limit
                """, new { now = clock.GetUnixMicroseconds(), limit }, cancellationToken: ct))).AsList();
        }
        var count = 0;
        foreach (var trade in due)
            if (await CloseAsync(trade, ct)) count++;
        return count;
    }
}

/// <summary>Closes expired unpaid trades every few seconds, so their notifications go out without anyone asking.</summary>
internal sealed class TradeExpiry(TradeClosing closing, TimeProvider clock, ILogger<TradeExpiry> logger) : PeriodicSweep(clock, logger)
{
    public const int IntervalMs = 5_000;
    public const int BatchMax = 200;

    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(IntervalMs);

    protected override string Activity => "Closing expired trades";

    protected override async Task<SweepPass> PassAsync(CancellationToken ct)
    {
        await closing.CloseExpiredAsync(BatchMax, ct);
        return SweepPass.Done;
    }
}
