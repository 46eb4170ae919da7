using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary><c>alipay.trade.create</c> with <c>buyer_id</c> (our user id): the buyer confirms in the wallet with <c>POST /v1/trades/{trade_no}/pay</c>.</summary>
internal sealed class Create(TradeCreation creation, UserDirectory users) : IGatewayMethod
{
    public string Name => "alipay.trade.create";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        var buyerText = c.Biz.String("buyer_id") ?? c.Biz.String("buyer_open_id");
        if (string.IsNullOrEmpty(buyerText)) return GatewayResult.MissingParameter("buyer_id");
        if (!Guid.TryParse(buyerText, out var buyerId) || !await users.ExistsAsync(buyerId, ct))
            return GatewayResult.Business(GatewaySubCodes.AcqInvalidParameter, "买家不存在", Field.Of("out_trade_no", c.Biz.String("out_trade_no")));
        var (trade, error) = await TradeRequests.CreateAsync(creation, c, "create", buyerId, null, ct);
        if (error is not null) return error.Value;
        return GatewayResult.Success(Field.Of("out_trade_no", trade!.out_trade_no), Field.Of("trade_no", trade.trade_no));
    }
}
