using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Marketing;
namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary><c>alipay.trade.query</c> by <c>trade_no</c> or <c>out_trade_no</c>.</summary>
internal sealed class Query(TradeStore trades, CouponRedemptions coupons) : IGatewayMethod
{
    public string Name => "alipay.trade.query";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        if (TradeFields.RequireTradeReference(c, out var tradeNo, out var outTradeNo) is { } error) return error;
        var t = await trades.FindForAppAsync(c.App.app_id, tradeNo, outTradeNo, ct);
        if (t is null) return TradeFields.NotExist(outTradeNo);
        var fields = new List<KeyValuePair<string, object?>>
        {
            Field.Of("trade_no", t.trade_no),
            Field.Of("out_trade_no", t.out_trade_no),
            Field.Of("trade_status", t.EffectiveStatus(Hosting.TimeProviderExtensions.ToUnixMicroseconds(c.Now))),
            Field.Of("total_amount", TradeFields.Yuan(t.total_amount)),
        };
        if (t.buyer_id is not null) fields.Add(Field.Of("buyer_user_id", TradeFields.BuyerId(t)));
        if (t.paid_at_us is not null)
        {
            fields.AddRange(TradeFields.PaidAmounts(t, t.discount_amount > 0 ? await coupons.DiscountsForTradeAsync(t.trade_no, ct) : [], t.refunded_amount));
            fields.Add(Field.Of("send_pay_date", TradeFields.ChinaTime(t.paid_at_us.Value)));
        }
        if (t.refunded_amount > 0) fields.Add(Field.Of("refund_fee", TradeFields.Yuan(t.refunded_amount)));
        fields.Add(Field.Of("subject", t.subject));
        return new GatewayResult(null, fields);
    }
}
