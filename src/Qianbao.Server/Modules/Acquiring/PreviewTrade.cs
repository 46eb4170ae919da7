using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Modules.Points;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// Preview before paying: <c>POST /v1/qr-codes/resolve {qr_code}</c> and <c>GET /v1/trades/{trade_no}</c> (a trade created
/// for this buyer) answer <c>{trade_no, merchant:{id, name}, subject, amount, currency, status, discount:{coupon_id, amount}
/// | null, points:{balance, usable_max}, pay_amount}</c>: the coupon a payment now would apply (the same choice as
/// <see cref="TradePayments.PayAsync"/> makes by default) and what the buyer would pay. A paid trade shows what was taken off.
/// Nothing is reserved: the payment decides again.
/// </summary>
internal static class PreviewTrade
{
    public sealed record ResolveRequest(string? QrCode);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/qr-codes/resolve", ResolveAsync).RequireUser().WithTags("Payments");
        app.MapGet("/v1/trades/{tradeNo}", GetAsync).RequireUser().WithTags("Payments");
    }

    private static async Task<IResult> ResolveAsync(HttpContext http, TradeStore trades, CouponRedemptions coupons, MerchantDirectory merchants,
        PointsRedemption points, TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<ResolveRequest>(http.Request, ct);
        if (problem is not null) return problem;
        if (string.IsNullOrEmpty(request!.QrCode) || request.QrCode.Length > 512)
            return ApiProblem.BadRequest("invalid_qr_code", "qr_code must be the text of a scanned payment QR code.");
        var trade = await trades.FindByQrCodeAsync(request.QrCode, ct);
        // A trade designated to another buyer is not this user's business.
        if (trade is null || (trade.buyer_id is { } b && b != http.UserId())) return ApiProblem.NotFound("No payable trade has this QR code.");
        return await AnswerAsync(http.UserId(), trade, coupons, merchants, points, clock, ct);
    }

    private static async Task<IResult> GetAsync(string tradeNo, HttpContext http, TradeStore trades, CouponRedemptions coupons, MerchantDirectory merchants,
        PointsRedemption points, TimeProvider clock, CancellationToken ct)
    {
        var trade = tradeNo.Length <= 64 ? await trades.FindAsync(tradeNo, ct) : null;
        if (trade is null || trade.buyer_id != http.UserId()) return ApiProblem.NotFound();
        return await AnswerAsync(http.UserId(), trade, coupons, merchants, points, clock, ct);
    }

    private static async Task<IResult> AnswerAsync(Guid buyerId, TradeRow trade, CouponRedemptions coupons, MerchantDirectory merchants,
        PointsRedemption points, TimeProvider clock, CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        var status = trade.EffectiveStatus(nowUs);
        object? discount = null;
        var discountFen = 0L;
        if (status == TradeStatus.WaitBuyerPay)
        {
            var (plan, _) = await coupons.PlanAsync(buyerId, trade.merchant_id, trade.total_amount, Currency.Parse(trade.currency), CouponChoice.Best, ct);
            if (plan is not null)
            {
                discount = new { coupon_id = plan.CouponId, amount = plan.DiscountFen };
                discountFen = plan.DiscountFen;
            }
        }
        else if (trade.discount_amount > 0 && (await coupons.ForTradeAsync(trade.trade_no, ct)).FirstOrDefault() is { } used)
        {
            discount = new { coupon_id = used.coupon_id, amount = used.discount_amount };
            discountFen = trade.discount_amount;
        }
        // Redeeming points at payment is not built yet: the balance shows, and none is usable.
        var balance = await points.UsableAsync(buyerId, nowUs, ct);
        return Results.Json(new
        {
            trade_no = trade.trade_no,
            merchant = new { id = trade.merchant_id, name = await merchants.NameAsync(trade.merchant_id, ct) },
            subject = trade.subject, amount = trade.total_amount, currency = trade.currency, status,
            discount, points = new { balance, usable_max = 0L }, pay_amount = trade.total_amount - discountFen,
        }, JsonDefaults.Options);
    }
}
