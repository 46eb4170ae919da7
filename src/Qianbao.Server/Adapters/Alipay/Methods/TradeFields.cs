using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Acquiring;

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
