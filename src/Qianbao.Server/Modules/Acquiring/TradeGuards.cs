using System.Data.Common;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>Which money path a <see cref="TradeGuard"/> protects, and so which state the trade must be in.</summary>
internal enum TradeGuardKind : byte
{
    /// <summary>Waiting for payment, not expired, and either open to any buyer or designated to this one.</summary>
    Payable,

    /// <summary>Paid, with exactly the refunded amount the refund was computed from, and room for the refund.</summary>
    Refundable,

    /// <summary>
    /// Paid, with exactly the refunded and settled totals the settlement's bounds were computed from, and this request
    /// number not settled yet (so a replay never writes its settlement twice).
    /// </summary>
    Settleable,
}

/// <summary>
/// The trade state a payment, refund or settlement was decided on. Checked (and the trade row locked on
/// PostgreSQL) in the ledger batch, so the postings and the trade change commit together or not at all.
/// </summary>
internal sealed record TradeGuard(TradeGuardKind Kind, string TradeNo, long NowUs = 0, Guid? BuyerId = null, long RefundedAmount = 0, long Amount = 0,
    long SettledAmount = 0, string? OutRequestNo = null) : IGuard
{
    public string Key => "trade:" + TradeNo;
}

/// <summary>Evaluates <see cref="TradeGuard"/>s against the trades table, which this module owns.</summary>
internal sealed class TradeGuardChecker : GuardChecker<TradeGuard>
{
    protected override ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<TradeGuard> guards, CancellationToken ct)
    {
        // The guarded row stays locked until commit, so the trade change written with the postings is the one checked.
        var lockRows = SqlBatch.LockRows(connection);
        var queries = new SqlStatement[guards.Count];
        for (var i = 0; i < queries.Length; i++) queries[i] = Query(guards[i], lockRows);
        return SqlBatch.AnyRowsAsync(connection, transaction, queries, ct);
    }

    private static SqlStatement Query(TradeGuard g, string lockRows) => g.Kind switch
    {
        TradeGuardKind.Payable => new(
            $"SELECT 1 FROM trades WHERE trade_no = @trade_no AND status = '{TradeStatus.WaitBuyerPay}' AND expires_at_us > @now AND (buyer_id IS NULL OR buyer_id = @buyer){lockRows}",
            new Dictionary<string, object?> { ["trade_no"] = g.TradeNo, ["now"] = g.NowUs, ["buyer"] = g.BuyerId }),
        TradeGuardKind.Refundable => new(
            $"SELECT 1 FROM trades WHERE trade_no = @trade_no AND status = '{TradeStatus.Success}' AND refunded_amount = @refunded AND refunded_amount + @amount <= total_amount{lockRows}",
            new Dictionary<string, object?> { ["trade_no"] = g.TradeNo, ["refunded"] = g.RefundedAmount, ["amount"] = g.Amount }),
        TradeGuardKind.Settleable => new($"""
            SELECT 1 FROM trades WHERE trade_no = @trade_no AND status = '{TradeStatus.Success}' AND refunded_amount = @refunded AND settled_amount = @settled
            AND NOT EXISTS (SELECT 1 FROM trade_settlements WHERE trade_no = @trade_no AND out_request_no = @out_request_no){lockRows}
            """,
            new Dictionary<string, object?> { ["trade_no"] = g.TradeNo, ["refunded"] = g.RefundedAmount, ["settled"] = g.SettledAmount, ["out_request_no"] = g.OutRequestNo }),
        _ => throw new ArgumentOutOfRangeException(nameof(g), g.Kind, "unknown trade guard"),
    };
}

/// <summary>
/// No trade of the buyer but this one is paid: a payment taking a first-payment discount is decided on that. Keyed by the buyer,
/// so two such payments of one buyer never share a batch and the second sees the first one paid.
/// </summary>
internal sealed record BuyerFirstPaymentGuard(Guid BuyerId, string TradeNo) : IGuard
{
    public string Key => "buyer-first-payment:" + BuyerId.ToString("N");
}

/// <summary>Evaluates <see cref="BuyerFirstPaymentGuard"/>s against the trades table.</summary>
internal sealed class BuyerFirstPaymentGuardChecker : GuardChecker<BuyerFirstPaymentGuard>
{
    protected override ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<BuyerFirstPaymentGuard> guards,
        CancellationToken ct)
    {
        var queries = new SqlStatement[guards.Count];
        for (var i = 0; i < queries.Length; i++)
            queries[i] = new("""
                SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM trades WHERE buyer_id = @buyer AND paid_at_us IS NOT NULL AND trade_no <> @trade_no)
                """, new Dictionary<string, object?> { ["buyer"] = guards[i].BuyerId, ["trade_no"] = guards[i].TradeNo });
        return SqlBatch.AnyRowsAsync(connection, transaction, queries, ct);
    }
}
