using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// What other modules may ask about a buyer's trades (complaints): a trade by number, and a refund through the one
/// acquiring refund path (<see cref="TradePayments.RefundAsync"/>: exactly once per request number, the merchant's
/// balance and freeze rules as for any refund), with the caller's own effects committed in the same transaction.
/// </summary>
internal sealed class BuyerTrades(TradeStore trades, TradePayments payments)
{
    public Task<TradeRow?> FindAsync(string tradeNo, CancellationToken ct) => tradeNo.Length <= 64 ? trades.FindAsync(tradeNo, ct) : Task.FromResult<TradeRow?>(null);

    /// <summary>Whether a refund under <paramref name="outRequestNo"/> exists on the trade.</summary>
    public async Task<bool> RefundExistsAsync(string tradeNo, string outRequestNo, CancellationToken ct) =>
        await trades.FindRefundAsync(tradeNo, outRequestNo, ct) is not null;

    public Task<(RefundOutcome Outcome, TradeRow Trade)> RefundAsync(TradeRow trade, string outRequestNo, long amount, IReadOnlyList<IEffect> alsoCommit,
        CancellationToken ct) => payments.RefundAsync(trade, outRequestNo, amount, ct, alsoCommit);
}
