using System.Data.Common;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>A change of a trade's stored state, committed with the postings that cause it.</summary>
internal abstract record TradeStateChange(string TradeNo) : IEffect;

/// <summary>The trade was paid: who paid, when, the fee kept and the profit-sharing hold, if any.</summary>
internal sealed record TradePaidChange(string TradeNo, Guid BuyerId, long PaidAtUs, long FeeAmount, Guid? FreezeHoldId, long DiscountAmount = 0,
    long PointsUsed = 0, long PointsAmount = 0)
    : TradeStateChange(TradeNo);

/// <summary>
/// A refund of <see cref="Amount"/> was made under <see cref="OutRequestNo"/>: the trade's refunded total,
/// status and profit-sharing hold change with it.
/// </summary>
internal sealed record TradeRefundedChange(string TradeNo, string OutRequestNo, long Amount, Guid TransferId, long RefundedAfter, string Status,
    bool Full, Guid? FreezeHoldId, long AtUs) : TradeStateChange(TradeNo);

/// <summary>The trade's profit-sharing was settled under <see cref="OutRequestNo"/>, bringing its settled total to <see cref="SettledAfter"/>.</summary>
internal sealed record TradeSettledChange(string TradeNo, string OutRequestNo, string SettleNo, long SettledAfter, long AtUs) : TradeStateChange(TradeNo);

/// <summary>Writes the acquiring module's trade changes in the ledger batch transaction.</summary>
internal sealed class TradeChangeWriter : IBatchingEffectWriter
{
    // One writer for every change type: they touch the same rows, and the order of a batch's changes matters.
    public Type EffectType => typeof(TradeStateChange);

    public ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IEffect> effects, CancellationToken ct) =>
        SqlBatch.ExecuteAsync(connection, transaction, Statements(effects), ct);

    /// <summary>Plain statements: they ride in the ledger batch's write round trip on PostgreSQL (issue 13, session 8).</summary>
    public bool TryAddTo(Npgsql.NpgsqlBatch batch, IReadOnlyList<IEffect> effects, List<Action> afterwards)
    {
        SqlBatch.AddTo(batch, Statements(effects));
        return true;
    }

    private static List<SqlStatement> Statements(IReadOnlyList<IEffect> effects)
    {
        var statements = new List<SqlStatement>(effects.Count * 2);
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case TradePaidChange p:
                    statements.Add(new($"""
                        UPDATE trades SET status = '{TradeStatus.Success}', buyer_id = @buyer, paid_at_us = @now, fee_amount = @fee, freeze_hold_id = @hold,
                            discount_amount = @discount, points_used = @points_used, points_amount = @points_amount
                        WHERE trade_no = @trade_no
                        """, new Dictionary<string, object?> { ["trade_no"] = p.TradeNo, ["buyer"] = p.BuyerId, ["now"] = p.PaidAtUs, ["fee"] = p.FeeAmount, ["hold"] = p.FreezeHoldId,
                        ["discount"] = p.DiscountAmount, ["points_used"] = p.PointsUsed, ["points_amount"] = p.PointsAmount }));
                    break;
                case TradeRefundedChange r:
                    statements.Add(new("""
                        UPDATE trades SET refunded_amount = @refunded, status = @status, last_refund_at_us = @now, freeze_hold_id = @hold,
                            closed_at_us = CASE WHEN @full = 1 THEN @now ELSE closed_at_us END
                        WHERE trade_no = @trade_no
                        """, new Dictionary<string, object?> { ["trade_no"] = r.TradeNo, ["refunded"] = r.RefundedAfter, ["status"] = r.Status, ["now"] = r.AtUs,
                        ["hold"] = r.FreezeHoldId, ["full"] = r.Full ? 1 : 0 }));
                    statements.Add(new("""
                        INSERT INTO trade_refunds (trade_no, out_request_no, refund_amount, transfer_id, created_at_us) VALUES (@trade_no, @out_request_no, @amount, @transfer, @now)
                        """, new Dictionary<string, object?> { ["trade_no"] = r.TradeNo, ["out_request_no"] = r.OutRequestNo, ["amount"] = r.Amount,
                        ["transfer"] = r.TransferId, ["now"] = r.AtUs }));
                    break;
                case TradeSettledChange s:
                    statements.Add(new("UPDATE trades SET settled = 1, settled_amount = @settled, freeze_hold_id = NULL WHERE trade_no = @trade_no",
                        new Dictionary<string, object?> { ["trade_no"] = s.TradeNo, ["settled"] = s.SettledAfter }));
                    statements.Add(new("INSERT INTO trade_settlements (trade_no, out_request_no, settle_no, created_at_us) VALUES (@trade_no, @out_request_no, @settle_no, @now)",
                        new Dictionary<string, object?> { ["trade_no"] = s.TradeNo, ["out_request_no"] = s.OutRequestNo, ["settle_no"] = s.SettleNo, ["now"] = s.AtUs }));
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(effects), effect.GetType().Name, "not a trade change");
            }
        }
        return statements;
    }
}
