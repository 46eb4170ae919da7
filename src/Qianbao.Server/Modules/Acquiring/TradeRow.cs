namespace Qianbao.Server.Modules.Acquiring;

/// <summary>Trade states, as Alipay names them.</summary>
internal static class TradeStatus
{
    public const string WaitBuyerPay = "WAIT_BUYER_PAY";
    public const string Success = "TRADE_SUCCESS";
    public const string Finished = "TRADE_FINISHED";
    public const string Closed = "TRADE_CLOSED";
}

/// <summary>A trade as stored. Amounts in fen; times in Unix microseconds.</summary>
internal sealed class TradeRow
{
    public string trade_no { get; init; } = "";
    public string app_id { get; init; } = "";
    public Guid merchant_id { get; init; }
    public string out_trade_no { get; init; } = "";
    public string kind { get; init; } = "";
    public string status { get; init; } = "";
    public long total_amount { get; init; }
    public string currency { get; init; } = "CNY";
    public string subject { get; init; } = "";
    public string? body { get; init; }
    public Guid? buyer_id { get; init; }
    public long fee_amount { get; init; }
    public long refunded_amount { get; init; }
    public int royalty_freeze { get; init; }
    public Guid? freeze_hold_id { get; init; }
    public int settled { get; init; }

    /// <summary>Moved to receivers by every settlement of the trade so far.</summary>
    public long settled_amount { get; init; }
    public string? notify_url { get; init; }
    public string? qr_code { get; init; }
    public string request_hash { get; init; } = "";
    public long expires_at_us { get; init; }
    public long created_at_us { get; init; }
    public long? paid_at_us { get; init; }
    public long? closed_at_us { get; init; }
    public long? last_refund_at_us { get; init; }

    /// <summary>What coupons took off at payment (the campaign budgets paid it); the buyer paid <see cref="PayAmount"/>.</summary>
    public long discount_amount { get; init; }

    /// <summary>Points the buyer redeemed at payment.</summary>
    public long points_used { get; init; }

    /// <summary>What the redeemed points took off (the platform's points budget paid it).</summary>
    public long points_amount { get; init; }

    /// <summary>
    /// The merchant's fee rate when the trade was opened, in basis points (0..10000): the rate its payment charges. Null on trades
    /// opened before the rate was stamped (migration 0046); their payment reads the merchant's rate.
    /// </summary>
    public int? fee_bps { get; init; }

    /// <summary>What the buyer's wallet paid: the total less the discount and the points discount.</summary>
    public long PayAmount => total_amount - discount_amount - points_amount;

    public const string Columns = """
        trade_no, app_id, merchant_id, out_trade_no, kind, status, total_amount, currency, subject, body, buyer_id, fee_amount,
        refunded_amount, royalty_freeze, freeze_hold_id, settled, notify_url, qr_code, request_hash, expires_at_us, created_at_us,
        paid_at_us, closed_at_us, last_refund_at_us, settled_amount, discount_amount, points_used, points_amount, fee_bps
        """;

    /// <summary>
    /// This unpaid trade as <paramref name="change"/> leaves it: what a payment that the trade guard let through (the row locked,
    /// still waiting for this buyer) committed with its postings, so the payer's answer needs no read of the row it just wrote.
    /// The other columns do not change while a trade waits for payment (a close would have failed the guard).
    /// </summary>
    public TradeRow PaidBy(TradePaidChange change) => new()
    {
        trade_no = trade_no, app_id = app_id, merchant_id = merchant_id, out_trade_no = out_trade_no, kind = kind, status = TradeStatus.Success,
        total_amount = total_amount, currency = currency, subject = subject, body = body, buyer_id = change.BuyerId, fee_amount = change.FeeAmount,
        refunded_amount = refunded_amount, royalty_freeze = royalty_freeze, freeze_hold_id = change.FreezeHoldId, settled = settled,
        settled_amount = settled_amount, notify_url = notify_url, qr_code = qr_code, request_hash = request_hash, expires_at_us = expires_at_us,
        created_at_us = created_at_us, paid_at_us = change.PaidAtUs, closed_at_us = closed_at_us, last_refund_at_us = last_refund_at_us,
        discount_amount = change.DiscountAmount, points_used = change.PointsUsed, points_amount = change.PointsAmount, fee_bps = fee_bps,
    };

    /// <summary>An unpaid trade past its deadline is closed, whether or not the sweeper has written that down yet.</summary>
    public string EffectiveStatus(long nowUs) => status == TradeStatus.WaitBuyerPay && expires_at_us <= nowUs ? TradeStatus.Closed : status;
}
