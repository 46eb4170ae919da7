using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Identity.Limits;
using Qianbao.Server.Modules.Identity.Spending;
using Qianbao.Server.Money;


using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Modules.Points;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// The buyer's side of merchant trades: <c>POST /v1/qr-payments</c> <c>{qr_code}</c> pays a precreated trade
/// whose QR code the buyer scanned; <c>POST /v1/trades/{trade_no}/pay</c> confirms a trade created for this
/// buyer (<c>alipay.trade.create</c>). Both need an Idempotency-Key; paying a trade is exactly-once in any
/// case, because the payment's ledger id derives from the trade.
/// </summary>
internal static class PayTrade
{
    public sealed record QrRequest(string? QrCode, string? CouponId, long? UsePoints);

    /// <summary>
    /// The optional body of a trade payment: which coupon to use (absent: the best one; <c>"none"</c>: none) and how many points to
    /// redeem (absent: none).
    /// </summary>
    public sealed record PayRequest(string? CouponId, long? UsePoints);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/qr-payments", PayQrAsync).RequireUser().WithTags("Payments");
        app.MapPost("/v1/trades/{tradeNo}/pay", PayCreatedAsync).RequireUser().WithTags("Payments");
    }

    private static async Task<IResult> PayQrAsync(HttpContext http, Idempotency idempotency, TradeStore trades, TradePayments payments, MerchantApps apps,
        SpendingGate gate, TierLimits limits, CouponRedemptions coupons, PointsOptions pointsOptions, CancellationToken ct)
    {
        var (request, bytes, problem) = await RequestBody.ReadJsonAsync<QrRequest>(http.Request, ct);
        if (problem is not null) return problem;
        if (string.IsNullOrEmpty(request!.QrCode) || request.QrCode.Length > 512)
            return ApiProblem.BadRequest("invalid_qr_code", "qr_code must be the text of a scanned payment QR code.");
        if (!CouponChoice.TryParse(request.CouponId, out var choice)) return InvalidCouponId();
        if (InvalidUsePoints(request.UsePoints, pointsOptions) is { } badPoints) return badPoints;
        var (idem, done) = await idempotency.BeginAsync(http, http.UserId().ToString("N"), bytes!, ct);
        if (done is not null) return done;
        var trade = await trades.FindByQrCodeAsync(request.QrCode, ct);
        if (trade is null) return ApiProblem.NotFound("No payable trade has this QR code.");
        if (await gate.CheckAsync(http, SpendKind.Payment, trade.total_amount, ct) is { } refused) return refused;
        return await PayAsync(http, trade, payments, apps, limits, coupons, choice, request.UsePoints ?? 0, ct);
    }

    /// <summary><c>use_points</c> is absent, or a count ≥ 0 that redeems for whole fen (any count at the default 100 points = ¥1).</summary>
    internal static IResult? InvalidUsePoints(long? usePoints, PointsOptions options) =>
        usePoints is not { } p || PointsRules.RedeemFen(p, options.PointsPerYuanDiscount) is not null ? null
            : ApiProblem.BadRequest(ErrorCodes.InvalidUsePoints,
                $"use_points must be a count of points ≥ 0 that redeems for whole fen ({options.PointsPerYuanDiscount} points = ¥1).");

    internal static IResult InvalidCouponId() =>
        ApiProblem.BadRequest(ErrorCodes.InvalidCouponId, "coupon_id must be the id of one of your coupons, or \"none\".");

    private static async Task<IResult> PayCreatedAsync(string tradeNo, HttpContext http, Idempotency idempotency, TradeStore trades, TradePayments payments,
        MerchantApps apps, SpendingGate gate, TierLimits limits, CouponRedemptions coupons, PointsOptions pointsOptions, CancellationToken ct)
    {
        var (bytes, problem) = await RequestBody.ReadAsync(http.Request, ct);
        if (problem is not null) return problem;
        var choice = CouponChoice.Best;
        var usePoints = 0L;
        if (bytes!.Length > 0)
        {
            var (request, bad) = RequestBody.Parse<PayRequest>(bytes);
            if (bad is not null) return bad;
            if (!CouponChoice.TryParse(request!.CouponId, out choice)) return InvalidCouponId();
            if (InvalidUsePoints(request.UsePoints, pointsOptions) is { } badPoints) return badPoints;
            usePoints = request.UsePoints ?? 0;
        }
        var (_, done) = await idempotency.BeginAsync(http, http.UserId().ToString("N"), bytes!, ct);
        if (done is not null) return done;
        var trade = tradeNo.Length <= 64 ? await trades.FindAsync(tradeNo, ct) : null;
        // A trade made for another buyer is not this user's business: 404, as for any stranger's object.
        if (trade is null || trade.buyer_id != http.UserId()) return ApiProblem.NotFound();
        if (await gate.CheckAsync(http, SpendKind.Payment, trade.total_amount, ct) is { } refused) return refused;
        return await PayAsync(http, trade, payments, apps, limits, coupons, choice, usePoints, ct);
    }

    private static async Task<IResult> PayAsync(HttpContext http, TradeRow trade, TradePayments payments, MerchantApps apps, TierLimits limits,
        CouponRedemptions coupons, CouponChoice choice, long usePoints, CancellationToken ct)
    {
        // The rate stamped when the trade was opened; only a trade opened before the stamp (migration 0046) reads the merchant's.
        var feeBps = trade.fee_bps ?? await apps.FeeBpsAsync(trade.app_id, ct);
        return await PayAsync(http, trade, feeBps, payments, limits, coupons, choice, usePoints, ct);
    }

    /// <summary>Pays <paramref name="trade"/> as the caller at <paramref name="feeBps"/> and answers as <c>/v1/qr-payments</c> does (a collection-code payment too).</summary>
    internal static async Task<IResult> PayAsync(HttpContext http, TradeRow trade, int feeBps, TradePayments payments, TierLimits limits,
        CouponRedemptions coupons, CouponChoice choice, long usePoints, CancellationToken ct)
    {
        var (outcome, after, used) = await payments.PayTellingCouponsAsync(trade, http.UserId(), feeBps, ct, choice, usePoints);
        if (PayOutcomes.Limit(outcome) is { } period) return await limits.ExceededAsync(http.UserId(), period, ct);
        return outcome switch
        {
            PayOutcome.Paid => Results.Json(new
            {
                trade_no = after.trade_no, status = after.status, amount = after.total_amount, currency = after.currency, subject = after.subject,
                merchant_id = after.merchant_id, paid_at = Hosting.TimeProviderExtensions.FromUnixMicroseconds(after.paid_at_us!.Value),
                discount_amount = after.discount_amount, points_used = after.points_used, points_amount = after.points_amount, pay_amount = after.PayAmount,
                coupons = used is not null ? used.Select(c => new { id = c.CouponId, amount = c.DiscountFen })
                    : (await coupons.ForTradeAsync(after.trade_no, ct)).Select(c => new { id = c.coupon_id, amount = c.discount_amount }),
            }, JsonDefaults.Options),
            PayOutcome.CouponNotUsable => ApiProblem.Unprocessable(ErrorCodes.CouponNotUsable,
                "That coupon cannot be used on this payment (used, expired, out of scope, below its minimum, or its budget is short)."),
            PayOutcome.PointsNotUsable => ApiProblem.Unprocessable(ErrorCodes.PointsNotUsable,
                "use_points is more than you may redeem on this payment (see the preview's points.usable_max): nothing moved."),
            PayOutcome.InsufficientFunds => ApiProblem.Unprocessable("insufficient_funds", "The wallet's available balance does not cover the amount."),
            PayOutcome.PaidByAnother => ApiProblem.Conflict("trade_already_paid", "Someone else has paid this trade."),
            PayOutcome.Closed => ApiProblem.Unprocessable("trade_closed", "The trade is closed or has expired."),
            PayOutcome.BuyerFrozen => ApiProblem.Unprocessable(ErrorCodes.AccountFrozen, "The account is frozen: it can receive money but not send, pay or withdraw."),
            PayOutcome.MerchantFrozen => ApiProblem.Unprocessable(ErrorCodes.MerchantFrozen, "The merchant is frozen: it accepts no payments."),
            _ => ApiProblem.NotFound(),
        };
    }
}
