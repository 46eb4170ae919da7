using System.Text.Json;
using Qianbao.Server.Modules.Acquiring;

namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary>
/// Reads the trade fields of precreate, create and pay from <c>biz_content</c> into an Acquiring <see cref="NewTrade"/>,
/// and answers <see cref="TradeCreation"/>'s outcome in Alipay's terms (<c>ACQ.CONTEXT_INCONSISTENT</c> for a conflict).
/// </summary>
internal static class TradeRequests
{
    public static async Task<(TradeRow? Trade, GatewayResult? Error)> CreateAsync(TradeCreation creation, GatewayContext c, string kind, Guid? buyerId,
        string? qrBaseUrl, CancellationToken ct)
    {
        if (Parse(c, kind, buyerId, out var request) is { } invalid) return (null, invalid);
        var (outcome, trade) = await creation.CreateAsync(request, qrBaseUrl, c.Now, ct);
        return outcome switch
        {
            CreateTradeOutcome.Created or CreateTradeOutcome.Replayed => (trade, null),
            CreateTradeOutcome.MerchantFrozen => (null, SellerBlocked(request.OutTradeNo)),
            CreateTradeOutcome.ConflictsWithExisting =>
                (null, GatewayResult.Business(GatewaySubCodes.ContextInconsistent, "交易信息被篡改", Field.Of("out_trade_no", trade.out_trade_no))),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), outcome, "unknown trade creation outcome"),
        };
    }

    /// <summary>ACQ.SELLER_BEEN_BLOCKED (商家账号被冻结): an operator froze the merchant; nothing was created or paid.</summary>
    public static GatewayResult SellerBlocked(string outTradeNo) =>
        GatewayResult.Business(GatewaySubCodes.SellerBeenBlocked, "商家账号被冻结", Field.Of("out_trade_no", outTradeNo));

    /// <summary>
    /// Checks the request's trade fields without touching anything: the error <see cref="CreateAsync"/> would answer,
    /// or null. Lets a caller refuse a malformed request before it spends something, such as a payment code.
    /// </summary>
    public static GatewayResult? Validate(GatewayContext c, string kind) => Parse(c, kind, null, out _);

    private static GatewayResult? Parse(GatewayContext c, string kind, Guid? buyerId, out NewTrade request)
    {
        request = null!;
        var biz = c.Biz;
        if (biz.Require("out_trade_no", TradeFields.OutTradeNoLengthMax, out var outTradeNo) is { } e1) return e1;
        if (biz.RequireAmount("total_amount", out var amount) is { } e2) return e2;
        if (biz.Require("subject", TradeFields.SubjectLengthMax, out var subject) is { } e3) return e3;
        if (biz.Optional("body", TradeFields.BodyLengthMax, out var body) is { } e4) return e4;
        var expiresAt = c.Now + TradeCreation.DefaultTimeout;
        var timeoutKey = kind == "precreate" && biz.String("qr_code_timeout_express") is not null ? "qr_code_timeout_express" : "timeout_express";
        var timeoutText = biz.String(timeoutKey);
        // Out of Alipay's range (1m..15d, or 1c) is the caller's mistake, answered as one, never an overflow.
        if (timeoutText is not null && !BizContent.TryParseTimeout(timeoutText, c.Now, out expiresAt))
            return GatewayResult.InvalidParameter($"参数 {timeoutKey} 不合法，取值范围 1m～15d 或 1c");
        var freeze = biz.ValueKind == JsonValueKind.Object && biz.TryGetProperty("extend_params", out var ext) && ext.ValueKind == JsonValueKind.Object
                     && ext.TryGetProperty("royalty_freeze", out var rf) && (rf.ValueKind == JsonValueKind.True || (rf.ValueKind == JsonValueKind.String && rf.GetString() == "true"));
        request = new NewTrade(c.App.app_id, c.App.merchant_id, kind, outTradeNo, amount, subject, body, expiresAt, freeze, c.Request.NotifyUrl, buyerId, c.App.fee_bps);
        return null;
    }
}
