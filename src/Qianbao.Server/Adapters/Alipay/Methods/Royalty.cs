using System.Text.Json;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Merchants;

namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary>
/// <c>alipay.trade.royalty.relation.bind</c>: binds profit-sharing receivers to the app. In Qianbao a receiver
/// (<c>type</c> <c>userId</c>, <c>account</c>) is another verified merchant's id. Binding again is harmless.
/// </summary>
internal sealed class RoyaltyRelationBind(MerchantDirectory merchants, RoyaltyRelations relations) : IGatewayMethod
{
    public const int ReceiversMax = 20;

    public string Name => "alipay.trade.royalty.relation.bind";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        if (c.Biz.Require("out_request_no", TradeFields.OutRequestNoLengthMax, out _) is { } e) return e;
        if (!c.Biz.TryGetProperty("receiver_list", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            return GatewayResult.MissingParameter("receiver_list");
        if (list.GetArrayLength() > ReceiversMax) return GatewayResult.InvalidParameter($"receiver_list 最多 {ReceiversMax} 个");

        var receivers = new List<(Guid Id, string? Name, string? Memo)>();
        foreach (var r in list.EnumerateArray())
        {
            if (r.String("type") != "userId" || !Guid.TryParse(r.String("account"), out var id))
                return GatewayResult.Business(GatewaySubCodes.AcqInvalidParameter, "分账接收方不合法");
            if (r.Optional("name", 64, out var name) is { } e1) return e1;
            if (r.Optional("memo", 256, out var memo) is { } e2) return e2;
            receivers.Add((id, name, memo));
        }

        foreach (var (id, _, _) in receivers)
        {
            if (id == c.App.merchant_id || !await merchants.IsVerifiedAsync(id, ct))
                return GatewayResult.Business(GatewaySubCodes.AcqInvalidParameter, "分账接收方不存在或未认证");
        }
        await relations.BindAsync(c.App.app_id, receivers, ct);
        return GatewayResult.Success(Field.Of("result_code", "SUCCESS"));
    }
}

/// <summary>
/// <c>alipay.trade.order.settle</c>: pays bound receivers their shares of a paid trade (<c>royalty_parameters</c>:
/// <c>trans_in_type</c> <c>userId</c>, <c>trans_in</c> a merchant id, <c>amount</c>) and releases the rest of a
/// profit-sharing freeze. Idempotent per (trade, <c>out_request_no</c>); a trade may be settled by several requests,
/// within the bounds <see cref="TradePayments.SettleAsync"/> keeps (what is left of the sale, and
/// <c>Qianbao:Gateway:RoyaltyMaxBps</c> of it over all settlements).
/// </summary>
internal sealed class OrderSettle(TradeStore trades, TradePayments payments, RoyaltyRelations relations, GatewayOptions options) : IGatewayMethod
{
    public const int SharesMax = 20;

    public string Name => "alipay.trade.order.settle";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        if (c.Biz.Require("out_request_no", TradeFields.OutRequestNoLengthMax, out var outRequestNo) is { } e1) return e1;
        if (c.Biz.Require("trade_no", 64, out var tradeNo) is { } e2) return e2;
        if (!c.Biz.TryGetProperty("royalty_parameters", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            return GatewayResult.MissingParameter("royalty_parameters");
        if (list.GetArrayLength() > SharesMax) return GatewayResult.InvalidParameter($"royalty_parameters 最多 {SharesMax} 个");

        var t = await trades.FindForAppAsync(c.App.app_id, tradeNo, null, ct);
        if (t is null) return TradeFields.NotExist(null);

        if (await trades.FindSettleNoAsync(tradeNo, outRequestNo, ct) is { } done)
            return GatewayResult.Success(Field.Of("trade_no", tradeNo), Field.Of("settle_no", done));

        var shares = new List<(Guid Receiver, long Amount)>();
        foreach (var p in list.EnumerateArray())
        {
            if ((p.String("trans_in_type") ?? "userId") != "userId" || !Guid.TryParse(p.String("trans_in"), out var receiver))
                return GatewayResult.Business(GatewaySubCodes.AcqInvalidParameter, "分账收入方不合法");
            if (p.RequireAmount("amount", out var amount) is { } e3) return e3;
            if (!await relations.IsBoundAsync(c.App.app_id, receiver, ct))
                return GatewayResult.Business("ACQ.ALLOC_REL_NOT_EXIST", "分账关系不存在", Field.Of("trade_no", tradeNo));
            shares.Add((receiver, amount));
        }

        var outcome = await payments.SettleAsync(t, outRequestNo, shares, options.RoyaltyMaxBps, ct);
        return outcome switch
        {
            // A replay: a copy of this same request settled the trade between our check and our guard.
            SettleOutcome.Settled or SettleOutcome.Replayed =>
                GatewayResult.Success(Field.Of("trade_no", tradeNo), Field.Of("settle_no", TradePayments.SettleNo(tradeNo, outRequestNo))),
            SettleOutcome.ExceedsShareable => GatewayResult.Business(GatewaySubCodes.AllocAmountValidateError, "分账金额超过最大可分账金额", Field.Of("trade_no", tradeNo)),
            SettleOutcome.MerchantFrozen => GatewayResult.Business(GatewaySubCodes.SellerBeenBlocked, "商家账号被冻结", Field.Of("trade_no", tradeNo)),
            SettleOutcome.MerchantBalanceInsufficient => GatewayResult.Business(GatewaySubCodes.SellerBalanceNotEnough, "卖家余额不足", Field.Of("trade_no", tradeNo)),
            _ => GatewayResult.Business(GatewaySubCodes.TradeStatusError, "交易状态不合法或已结算", Field.Of("trade_no", tradeNo)),
        };
    }
}
