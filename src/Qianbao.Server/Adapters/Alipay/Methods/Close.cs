using Qianbao.Server.Modules.Acquiring;

namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary><c>alipay.trade.close</c>: closes an unpaid trade. A paid trade answers <c>ACQ.TRADE_STATUS_ERROR</c>.</summary>
internal sealed class Close(TradeStore trades, TradeClosing closing) : IGatewayMethod
{
    public string Name => "alipay.trade.close";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        if (TradeFields.RequireTradeReference(c, out var tradeNo, out var outTradeNo) is { } error) return error;
        var t = await trades.FindForAppAsync(c.App.app_id, tradeNo, outTradeNo, ct);
        if (t is null) return TradeFields.NotExist(outTradeNo);
        await closing.CloseAsync(t, ct);
        var after = (await trades.FindAsync(t.trade_no, ct))!;
        return after.status == TradeStatus.Closed
            ? GatewayResult.Success(Field.Of("trade_no", after.trade_no), Field.Of("out_trade_no", after.out_trade_no))
            : GatewayResult.Business(GatewaySubCodes.TradeStatusError, "交易状态不合法", Field.Of("trade_no", after.trade_no), Field.Of("out_trade_no", after.out_trade_no));
    }
}

/// <summary>
/// <c>alipay.trade.cancel</c>: undoes a trade whatever its state: an unpaid one is closed (<c>action</c>
/// <c>close</c>), a paid one fully refunded (<c>action</c> <c>refund</c>). <c>retry_flag</c> N: no need to retry.
/// </summary>
internal sealed class Cancel(TradeStore trades, TradeClosing closing, TradePayments payments) : IGatewayMethod
{
    public string Name => "alipay.trade.cancel";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        if (TradeFields.RequireTradeReference(c, out var tradeNo, out var outTradeNo) is { } error) return error;
        var t = await trades.FindForAppAsync(c.App.app_id, tradeNo, outTradeNo, ct);
        if (t is null) return TradeFields.NotExist(outTradeNo);
        string action;
        if (t.status == TradeStatus.WaitBuyerPay && await closing.CloseAsync(t, ct))
        {
            action = "close";
        }
        else
        {
            t = (await trades.FindAsync(t.trade_no, ct))!;
            action = t.paid_at_us is null ? "close" : "refund";
            // Refund whatever is left; a partial refund racing us changes the trade under the guard, so decide again on
            // fresh state rather than answer "refund" for a refund that did not happen.
            for (var attempt = 0; t.status == TradeStatus.Success; attempt++)
            {
                if (attempt == Refund.RaceAttemptsMax)
                    return GatewayResult.Fail(GatewayError.ServiceUnavailable(GatewaySubCodes.UnknownError, "系统繁忙，请稍后重试"),
                        Field.Of("out_trade_no", t.out_trade_no), Field.Of("retry_flag", "Y"));
                var (outcome, after) = await payments.RefundAsync(t, "cancel", t.total_amount - t.refunded_amount, ct);
                if (outcome == RefundOutcome.MerchantBalanceInsufficient)
                    return GatewayResult.Business(GatewaySubCodes.SellerBalanceNotEnough, "卖家余额不足", Field.Of("out_trade_no", t.out_trade_no));
                if (outcome == RefundOutcome.MerchantFrozen) return TradeRequests.SellerBlocked(t.out_trade_no);
                if (outcome == RefundOutcome.RequestNoReused)
                    return GatewayResult.Business(GatewaySubCodes.ContextInconsistent, "退款请求号 cancel 已被使用", Field.Of("out_trade_no", t.out_trade_no));
                t = after;
            }
        }
        return GatewayResult.Success(Field.Of("trade_no", t.trade_no), Field.Of("out_trade_no", t.out_trade_no),
            Field.Of("retry_flag", "N"), Field.Of("action", action));
    }
}
