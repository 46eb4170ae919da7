using System.Security.Cryptography;
using System.Text;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Identity.Limits;
using Qianbao.Server.Modules.Identity.Spending;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// <c>POST /v1/collection-codes/{code}/pay</c> <c>{amount, coupon_id?, use_points?}</c> with the PIN and an <c>Idempotency-Key</c>:
/// the buyer scanned a shop's static collection code (收款码) and typed the amount; one step creates the trade (kind
/// <c>collection</c>, designated to this buyer) and pays it, through the spending gate, limits, coupons and points exactly as
/// <c>POST /v1/qr-payments</c>, and answers as it does. The trade's <c>out_trade_no</c> is derived from the buyer and the key
/// (<c>cc</c> + 30 hex digits of SHA-256), so the same key pays once: again with the same body answers the paid trade, with
/// another amount or code 422 <c>idempotency_key_reused</c>. An unknown code, or one of a merchant not verified, is 404.
/// </summary>
internal static class PayCollectionCode
{
    public sealed record Request(long? Amount, string? CouponId, long? UsePoints);

    /// <summary>The pseudo app id of collection-code trades: no gateway app, so no notify URL and no app's bills.</summary>
    public const string AppId = "collection";
    public const string Kind = "collection";

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/v1/collection-codes/{code}/pay", HandleAsync).RequireUser().WithTags("Payments");

    private static async Task<IResult> HandleAsync(string code, HttpContext http, Idempotency idempotency, CollectionCodes codes, TradeCreation creation,
        TradePayments payments, SpendingGate gate, TierLimits limits, CouponRedemptions coupons, PointsOptions pointsOptions, TimeProvider clock,
        CancellationToken ct)
    {
        var (request, bytes, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (request!.Amount is not (>= Adapters.Alipay.AlipayAmount.MinFen and <= Adapters.Alipay.AlipayAmount.MaxFen))
            return ApiProblem.BadRequest(ErrorCodes.InvalidAmount, "amount must be 1..10000000000 fen.");
        if (!CouponChoice.TryParse(request.CouponId, out var choice)) return PayTrade.InvalidCouponId();
        if (PayTrade.InvalidUsePoints(request.UsePoints, pointsOptions) is { } badPoints) return badPoints;
        var (_, done) = await idempotency.BeginAsync(http, http.UserId().ToString("N"), bytes!, ct);
        if (done is not null) return done;
        var merchant = await codes.FindAsync(code, ct);
        if (merchant is not { Verified: true }) return ApiProblem.NotFound("No shop takes payments with this collection code.");
        var amount = request.Amount.Value;
        if (await gate.CheckAsync(http, SpendKind.Payment, amount, ct) is { } refused) return refused;

        var buyerId = http.UserId();
        var key = http.Request.Headers["Idempotency-Key"].ToString();
        var outTradeNo = "cc" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(buyerId.ToString("N") + ":" + key)))[..30];
        var now = clock.GetUtcNow();
        var (outcome, trade) = await creation.CreateAsync(new NewTrade(AppId, merchant.MerchantId, Kind, outTradeNo, amount, merchant.Name, Body: code,
            now.Add(TradeCreation.DefaultTimeout), RoyaltyFreeze: false, NotifyUrl: null, BuyerId: buyerId, merchant.FeeBps), qrBaseUrl: null, now, ct);
        return outcome switch
        {
            CreateTradeOutcome.MerchantFrozen => ApiProblem.Unprocessable(ErrorCodes.MerchantFrozen, "The merchant is frozen: it accepts no payments."),
            CreateTradeOutcome.ConflictsWithExisting => Idempotency.KeyReused(),
            _ => await PayTrade.PayAsync(http, trade, trade.fee_bps ?? merchant.FeeBps, payments, limits, coupons, choice, request.UsePoints ?? 0, ct),
        };
    }
}
