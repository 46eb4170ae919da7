using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Marketing;

namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary>
/// <c>alipay.trade.pay</c> with <c>scene=bar_code</c>: the merchant scans the buyer's payment code
/// (<c>auth_code</c>, from <c>POST /v1/payment-codes</c>: 18 digits, single use, valid 60 s) and the trade is paid at once
/// — unless <see cref="CodePayConfirmation"/> says it waits for the buyer: then the answer is 10003 (order success pay
/// inprocess) with the trade's numbers, the buyer confirms in the wallet, and the merchant queries for the outcome.
/// </summary>
internal sealed class Pay(TradeCreation creation, TradePayments payments, PaymentCodes codes, TradeStore trades, CodePayConfirmation confirmation,
    CouponRedemptions coupons)
    : IGatewayMethod
{
    public string Name => "alipay.trade.pay";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        var scene = c.Biz.String("scene") ?? "bar_code";
        if (scene is not ("bar_code" or "wave_code")) return GatewayResult.InvalidParameter("参数 scene 不合法");
        if (c.Biz.Require("auth_code", 32, out var authCode) is { } e) return e;
        if (c.Biz.Require("out_trade_no", TradeFields.OutTradeNoLengthMax, out var outTradeNo) is { } e2) return e2;
        // Refuse a malformed trade before spending the code: the buyer should not need a new code for the merchant's typo.
        if (TradeRequests.Validate(c, "pay") is { } e3) return e3;

        var existing = await codes.FindTradeReplayAsync(c.App.app_id, outTradeNo, authCode, ct);
        if (existing is not null && existing.status != TradeStatus.WaitBuyerPay) return await AnswerAsync(existing, ct);
        // A retry of a trade waiting for its buyer: still waiting, whether or not the code has expired since.
        if (existing is not null && confirmation.AwaitsBuyer(existing)) return AwaitingBuyer(existing);
        // The out_trade_no already names a trade this code did not start: refuse before spending the buyer's code.
        // (A retry racing the request that did start it finds the code spent on it, and continues that payment.)
        if (existing is null && await trades.FindByOutTradeNoAsync(c.App.app_id, outTradeNo, ct) is { } other
            && await codes.FindReplayBuyerAsync(authCode, c.App.app_id, outTradeNo, ct) is null)
            return GatewayResult.Business(other.status == TradeStatus.WaitBuyerPay ? GatewaySubCodes.ContextInconsistent : GatewaySubCodes.TradeHasSuccess,
                "交易信息被篡改或交易已存在", Field.Of("out_trade_no", outTradeNo));

        // A frozen merchant is refused before the buyer's code is spent (the pipeline refuses the payment in any case).
        if (await creation.MerchantFrozenAsync(c.App.merchant_id, ct)) return TradeRequests.SellerBlocked(outTradeNo);

        // Consume the code before creating the trade: a code pays at most one trade, whatever the retries. A retry that
        // races the request that spent the code (a till timing out) continues that request: trade creation and payment
        // are idempotent per out_trade_no, so both answer the one payment.
        var buyer = existing?.buyer_id;
        var spentNow = false;
        if (buyer is null)
        {
            buyer = await codes.ConsumeAsync(authCode, c.App.app_id, outTradeNo, ct);
            spentNow = buyer is not null;
        }
        buyer ??= await codes.FindReplayBuyerAsync(authCode, c.App.app_id, outTradeNo, ct);
        // A retry of an unpaid trade (e.g. after the buyer topped up) may pay only while the code it was spent with lives.
        if (buyer is null || (!spentNow && !await codes.AuthorisesAttemptAsync(authCode, c.Now, ct)))
            return CodeInvalid(outTradeNo);

        var (trade, error) = await TradeRequests.CreateAsync(creation, c, "pay", buyer, null, ct);
        if (error is not null) return error.Value;
        if (confirmation.AwaitsBuyer(trade!)) return AwaitingBuyer(trade!);
        var (outcome, after) = await payments.PayAsync(trade!, buyer.Value, c.App.fee_bps, ct);
        return outcome switch
        {
            PayOutcome.Paid => await AnswerAsync(after, ct),
            PayOutcome.InsufficientFunds => GatewayResult.Business(GatewaySubCodes.BuyerBalanceNotEnough, "买家余额不足",
                Field.Of("trade_no", after.trade_no), Field.Of("out_trade_no", after.out_trade_no)),
            PayOutcome.PaidByAnother => GatewayResult.Business(GatewaySubCodes.TradeHasSuccess, "交易已被支付", Field.Of("out_trade_no", after.out_trade_no)),
            PayOutcome.MerchantFrozen => TradeRequests.SellerBlocked(after.out_trade_no),
            PayOutcome.BuyerFrozen => GatewayResult.Business(GatewaySubCodes.BuyerEnableStatusForbid, "买家状态非法",
                Field.Of("trade_no", after.trade_no), Field.Of("out_trade_no", after.out_trade_no)),
            // Alipay has a day and a month code for the buyer's caps; the year and since-opening caps take the longer one.
            PayOutcome.DailyLimitExceeded => GatewayResult.Business(GatewaySubCodes.BuyerPaymentAmountDayLimitError, "买家付款日限额超限",
                Field.Of("trade_no", after.trade_no), Field.Of("out_trade_no", after.out_trade_no)),
            PayOutcome.TotalLimitExceeded or PayOutcome.YearLimitExceeded => GatewayResult.Business(GatewaySubCodes.BuyerPaymentAmountMonthLimitError,
                "买家付款月额度超限", Field.Of("trade_no", after.trade_no), Field.Of("out_trade_no", after.out_trade_no)),
            _ => GatewayResult.Business(GatewaySubCodes.TradeHasClose, "交易已经关闭", Field.Of("out_trade_no", after.out_trade_no)),
        };
    }

    private static GatewayResult CodeInvalid(string outTradeNo) =>
        GatewayResult.Business(GatewaySubCodes.PaymentAuthCodeInvalid, "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款",
            Field.Of("out_trade_no", outTradeNo));

    /// <summary>10003 as Alipay answers it: the trade's numbers and buyer, nothing paid yet.</summary>
    private static GatewayResult AwaitingBuyer(TradeRow t) => GatewayResult.Fail(GatewayError.PaymentInProcess(),
        Field.Of("trade_no", t.trade_no), Field.Of("out_trade_no", t.out_trade_no), Field.Of("buyer_user_id", TradeFields.BuyerId(t)),
        Field.Of("total_amount", TradeFields.Yuan(t.total_amount)), Field.Of("receipt_amount", TradeFields.Yuan(0)),
        Field.Of("buyer_pay_amount", TradeFields.Yuan(0)));

    private async Task<GatewayResult> AnswerAsync(TradeRow t, CancellationToken ct) => t.status switch
    {
        TradeStatus.Success or TradeStatus.Finished => GatewayResult.Success([
            Field.Of("trade_no", t.trade_no), Field.Of("out_trade_no", t.out_trade_no), Field.Of("buyer_user_id", TradeFields.BuyerId(t)),
            Field.Of("total_amount", TradeFields.Yuan(t.total_amount)),
            .. TradeFields.PaidAmounts(t, t.discount_amount > 0 ? await coupons.DiscountsForTradeAsync(t.trade_no, ct) : [], 0),
            Field.Of("gmt_payment", TradeFields.ChinaTime(t.paid_at_us!.Value))]),
        _ => GatewayResult.Business(GatewaySubCodes.TradeHasClose, "交易已经关闭", Field.Of("out_trade_no", t.out_trade_no)),
    };
}
