using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Marketing;

namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary>How trades are written in gateway responses.</summary>
internal static class TradeFields
{
    public const int OutTradeNoLengthMax = 64;
    public const int SubjectLengthMax = 256;
    public const int BodyLengthMax = 128;
    public const int OutRequestNoLengthMax = 64;

    public static string Yuan(long fen) => AlipayAmount.FormatYuan(fen);

    public static string ChinaTime(long us) => AlipayTime.ToChinaString(TimeProviderExtensions.FromUnixMicroseconds(us));

    public static string? BuyerId(TradeRow t) => t.buyer_id?.ToString("N");

    /// <summary>
    /// A paid trade's amounts as Alipay reports them: <c>buyer_pay_amount</c> what the buyer's wallet paid,
    /// <c>receipt_amount</c> what the merchant received (less what it funded itself, and less refunds),
    /// <c>invoice_amount</c> what the buyer can be invoiced for, <c>point_amount</c> what redeemed points paid (platform-funded), and
    /// <c>voucher_detail_list</c> each coupon with who funded it. Amounts are yuan strings.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, object?>> PaidAmounts(TradeRow t, IReadOnlyList<RedemptionRow> coupons, long refunded)
    {
        var merchantFunded = coupons.Where(c => c.merchant_funded == 1).Sum(c => c.discount_amount);
        yield return Field.Of("buyer_pay_amount", Yuan(t.PayAmount));
        yield return Field.Of("receipt_amount", Yuan(t.total_amount - merchantFunded - refunded));
        yield return Field.Of("invoice_amount", Yuan(t.PayAmount));
        yield return Field.Of("point_amount", Yuan(t.points_amount));
        if (coupons.Count > 0)
            yield return Field.Of("voucher_detail_list", coupons.Select(c => new Dictionary<string, string>
            {
                ["id"] = c.coupon_id.ToString("N"), ["name"] = c.campaign_name, ["type"] = c.merchant_funded == 1 ? "ALIPAY_BIZ_VOUCHER" : "ALIPAY_FIX_VOUCHER",
                ["amount"] = Yuan(c.discount_amount), ["merchant_contribute"] = Yuan(c.merchant_funded == 1 ? c.discount_amount : 0),
                ["other_contribute"] = Yuan(c.merchant_funded == 1 ? 0 : c.discount_amount),
            }).ToList());
    }

    /// <summary>A trade number or out_trade_no is required to name a trade.</summary>
    public static GatewayResult? RequireTradeReference(GatewayContext c, out string? tradeNo, out string? outTradeNo)
    {
        tradeNo = null;
        outTradeNo = null;
        if (c.Biz.Optional("trade_no", 64, out tradeNo) is { } e1) return e1;
        if (c.Biz.Optional("out_trade_no", OutTradeNoLengthMax, out outTradeNo) is { } e2) return e2;
        if (tradeNo is null && outTradeNo is null) return GatewayResult.MissingParameter("trade_no|out_trade_no");
        return null;
    }

    public static GatewayResult NotExist(string? outTradeNo) =>
        GatewayResult.Business(GatewaySubCodes.TradeNotExist, "交易不存在", Field.Of("out_trade_no", outTradeNo));
}
