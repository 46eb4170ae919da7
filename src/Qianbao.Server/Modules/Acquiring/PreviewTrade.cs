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

    /// <summary>
    /// <c>discount</c>: <c>amount</c> is all campaigns take off; <c>coupon_id</c> the coupon's (null when none), and
    /// <c>coupon_amount</c> and <c>first_payment:{campaign_id, amount}</c> (null when none) the parts.
    /// </summary>
    private static object Discount(Guid? couponId, long couponFen, Guid? firstCampaignId, long firstFen) => new
    {
        coupon_id = couponId, amount = couponFen + firstFen, coupon_amount = couponFen,
        first_payment = firstCampaignId is { } id ? new { campaign_id = id, amount = firstFen } : null,
    };

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/qr-codes/resolve", ResolveAsync).RequireUser().WithTags("Payments");
        app.MapGet("/v1/trades/{tradeNo}", GetAsync).RequireUser().WithTags("Payments");
    }

    private static async Task<IResult> ResolveAsync(HttpContext http, TradeStore trades, CouponRedemptions coupons, MerchantDirectory merchants,
        PointsRedemption points, FirstPaymentDiscounts firstPayments, TradePayments payments, TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<ResolveRequest>(http.Request, ct);
        if (problem is not null) return problem;
        if (string.IsNullOrEmpty(request!.QrCode) || request.QrCode.Length > 512)
            return ApiProblem.BadRequest("invalid_qr_code", "qr_code must be the text of a scanned payment QR code.");
        var trade = await trades.FindByQrCodeAsync(request.QrCode, ct);
        // A trade designated to another buyer is not this user's business.
        if (trade is null || (trade.buyer_id is { } b && b != http.UserId())) return ApiProblem.NotFound("No payable trade has this QR code.");
        return await AnswerAsync(http.UserId(), trade, trades, coupons, firstPayments, merchants, points, payments, clock, ct);
    }

    private static async Task<IResult> GetAsync(string tradeNo, HttpContext http, TradeStore trades, CouponRedemptions coupons, MerchantDirectory merchants,
        PointsRedemption points, FirstPaymentDiscounts firstPayments, TradePayments payments, TimeProvider clock, CancellationToken ct)
    {
        var trade = tradeNo.Length <= 64 ? await trades.FindAsync(tradeNo, ct) : null;
        if (trade is null || trade.buyer_id != http.UserId()) return ApiProblem.NotFound();
        return await AnswerAsync(http.UserId(), trade, trades, coupons, firstPayments, merchants, points, payments, clock, ct);
    }

    private static async Task<IResult> AnswerAsync(Guid buyerId, TradeRow trade, TradeStore trades, CouponRedemptions coupons,
        FirstPaymentDiscounts firstPayments, MerchantDirectory merchants, PointsRedemption points, TradePayments payments, TimeProvider clock, CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        var status = trade.EffectiveStatus(nowUs);
        object? discount = null;
        var discountFen = 0L;
        if (status == TradeStatus.WaitBuyerPay)
        {
            var currency = Currency.Parse(trade.currency);
            var (plan, _) = await coupons.PlanAsync(buyerId, trade.merchant_id, trade.total_amount, currency, CouponChoice.Best, ct);
            // The same first-payment decision as the payment's: after the coupon, only while the buyer has never paid.
            var first = await trades.BuyerHasPaidAsync(buyerId, trade.trade_no, ct) ? null
                : await firstPayments.PlanAsync(trade.merchant_id, trade.total_amount, plan?.DiscountFen ?? 0, currency, nowUs, ct);
            discountFen = (plan?.DiscountFen ?? 0) + (first?.DiscountFen ?? 0);
            if (discountFen > 0) discount = Discount(plan?.CouponId, plan?.DiscountFen ?? 0, first?.CampaignId, first?.DiscountFen ?? 0);
        }
        else if (trade.discount_amount > 0)
        {
            var used = (await coupons.ForTradeAsync(trade.trade_no, ct)).FirstOrDefault();
            var first = await firstPayments.ForTradeAsync(trade.trade_no, ct);
            discount = Discount(used?.coupon_id, used?.discount_amount ?? 0, first?.campaign_id, first?.discount_amount ?? 0);
            discountFen = trade.discount_amount;
        }
        // The points the payment could redeem now, after the discounts (nothing is reserved).
        var balance = await points.UsableAsync(buyerId, nowUs, ct);
        var usableMax = status == TradeStatus.WaitBuyerPay
            ? await payments.UsablePointsAsync(buyerId, trade.total_amount, discountFen, Currency.Parse(trade.currency), ct) : 0;
        return Results.Json(new
        {
            trade_no = trade.trade_no,
            merchant = new { id = trade.merchant_id, name = await merchants.NameAsync(trade.merchant_id, ct) },
            subject = trade.subject, amount = trade.total_amount, currency = trade.currency, status,
            discount, points = new { balance, usable_max = usableMax }, pay_amount = status == TradeStatus.WaitBuyerPay ? trade.total_amount - discountFen : trade.PayAmount,
            points_used = trade.points_used, points_amount = trade.points_amount,
        }, JsonDefaults.Options);
    }
}
