using Dapper;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary>
/// <c>alipay.trade.refund</c>: partial or full, idempotent per <c>out_request_no</c> within the trade (a replay
/// answers <c>fund_change</c> N); refunds in total never exceed what was paid. <c>refund_fee</c> is the total
/// refunded so far. A full refund closes the trade.
/// </summary>
internal sealed class Refund(TradeStore trades, TradePayments payments) : IGatewayMethod
{
    public const int RaceAttemptsMax = 8;

    public string Name => "alipay.trade.refund";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        if (TradeFields.RequireTradeReference(c, out var tradeNo, out var outTradeNo) is { } e1) return e1;
        if (c.Biz.RequireAmount("refund_amount", out var amount) is { } e2) return e2;
        if (c.Biz.Optional("out_request_no", TradeFields.OutRequestNoLengthMax, out var outRequestNo) is { } e3) return e3;
        if (c.Biz.Optional("refund_reason", 256, out _) is { } e4) return e4;

        for (var attempt = 0; attempt < RaceAttemptsMax; attempt++)
        {
            var t = await trades.FindForAppAsync(c.App.app_id, tradeNo, outTradeNo, ct);
            if (t is null) return TradeFields.NotExist(outTradeNo);
            var requestNo = outRequestNo ?? t.out_trade_no;

            var previous = (await trades.FindRefundAsync(t.trade_no, requestNo, ct))?.AmountMinor;
            if (previous is not null)
            {
                // The trade was read before the refund row: re-read it, or a replay racing the first request would
                // answer the refund_fee from before that refund.
                return previous.Value == amount
                    ? Answer((await trades.FindAsync(t.trade_no, ct))!, fundChange: false)
                    : GatewayResult.Business(GatewaySubCodes.ContextInconsistent, "退款请求号已被使用，且退款金额不一致", Field.Of("out_trade_no", t.out_trade_no));
            }
            if (t.status != TradeStatus.Success)
                return GatewayResult.Business(t.status == TradeStatus.Closed && t.paid_at_us is null ? GatewaySubCodes.TradeStatusError : GatewaySubCodes.TradeHasClose,
                    t.paid_at_us is null ? "交易状态不合法" : "交易已经关闭", Field.Of("out_trade_no", t.out_trade_no));
            if (t.refunded_amount + amount > t.total_amount)
                return GatewayResult.Business(GatewaySubCodes.RefundAmtNotEqualTotal, "退款金额超限", Field.Of("out_trade_no", t.out_trade_no));

            var (outcome, after) = await payments.RefundAsync(t, requestNo, amount, ct);
            switch (outcome)
            {
                case RefundOutcome.Refunded:
                    return Answer(after, fundChange: true);
                case RefundOutcome.MerchantBalanceInsufficient:
                    return GatewayResult.Business(GatewaySubCodes.SellerBalanceNotEnough, "卖家余额不足", Field.Of("out_trade_no", t.out_trade_no));
                case RefundOutcome.MerchantFrozen:
                    return TradeRequests.SellerBlocked(t.out_trade_no);
                case RefundOutcome.NotRefundable:
                    continue; // another refund changed the trade first: decide again on fresh state
                default:
                    return GatewayResult.Business(GatewaySubCodes.ContextInconsistent, "退款请求号已被使用", Field.Of("out_trade_no", t.out_trade_no));
            }
        }
        return GatewayResult.Fail(GatewayError.ServiceUnavailable(GatewaySubCodes.UnknownError, "系统繁忙，请稍后重试"));
    }

    private static GatewayResult Answer(TradeRow t, bool fundChange) => GatewayResult.Success(
        Field.Of("trade_no", t.trade_no), Field.Of("out_trade_no", t.out_trade_no), Field.Of("buyer_user_id", TradeFields.BuyerId(t)),
        Field.Of("fund_change", fundChange ? "Y" : "N"), Field.Of("refund_fee", TradeFields.Yuan(t.refunded_amount)),
        Field.Of("gmt_refund_pay", t.last_refund_at_us is null ? null : TradeFields.ChinaTime(t.last_refund_at_us.Value)));
}

/// <summary><c>alipay.trade.fastpay.refund.query</c>: a refund by <c>out_request_no</c>; an unknown request answers success without <c>refund_status</c>, as Alipay does.</summary>
internal sealed class RefundQuery(TradeStore trades) : IGatewayMethod
{
    public string Name => "alipay.trade.fastpay.refund.query";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        if (TradeFields.RequireTradeReference(c, out var tradeNo, out var outTradeNo) is { } e1) return e1;
        if (c.Biz.Require("out_request_no", TradeFields.OutRequestNoLengthMax, out var outRequestNo) is { } e2) return e2;
        var t = await trades.FindForAppAsync(c.App.app_id, tradeNo, outTradeNo, ct);
        if (t is null) return TradeFields.NotExist(outTradeNo);
        var refund = await trades.FindRefundAsync(t.trade_no, outRequestNo, ct);
        if (refund is null)
            return GatewayResult.Success(Field.Of("trade_no", t.trade_no), Field.Of("out_trade_no", t.out_trade_no), Field.Of("out_request_no", outRequestNo));
        return GatewayResult.Success(
            Field.Of("trade_no", t.trade_no), Field.Of("out_trade_no", t.out_trade_no), Field.Of("out_request_no", outRequestNo),
            Field.Of("total_amount", TradeFields.Yuan(t.total_amount)), Field.Of("refund_amount", TradeFields.Yuan(refund.AmountMinor)),
            Field.Of("refund_status", "REFUND_SUCCESS"), Field.Of("gmt_refund_pay", TradeFields.ChinaTime(refund.CreatedAtUs)));
    }
}
