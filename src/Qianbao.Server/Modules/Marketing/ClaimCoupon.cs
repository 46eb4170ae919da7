using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>
/// <c>POST /v1/coupons {campaign_id}</c> (user; Idempotency-Key) → 201 <c>{id, campaign_id, status:"available", type,
/// amount, percent_bps, cap, min_spend, currency, expires_at, ...}</c>. The same key answers the same coupon again (201);
/// the key with another campaign is 422 <c>idempotency_key_reused</c>. 422 <c>campaign_not_active</c> (not started,
/// ended or stopped), <c>out_of_stock</c>, <c>coupon_limit_reached</c>; 404 for no coupon campaign of that id. No money
/// moves: a claim reserves no budget (the payment checks that the budget covers the discount).
/// </summary>
internal static class ClaimCoupon
{
    public sealed record Request(string? CampaignId);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/coupons", HandleAsync).RequireUser().WithTags("Marketing");

    private static async Task<IResult> HandleAsync(HttpContext http, Coupons coupons, TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!Guid.TryParse(request!.CampaignId, out var campaignId))
            return ApiProblem.BadRequest(ErrorCodes.InvalidCampaignId, "campaign_id must be a campaign's id.");
        var key = http.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length == 0)
            return ApiProblem.BadRequest(ErrorCodes.IdempotencyKeyMissing, "Send an Idempotency-Key header (1-255 printable ASCII characters).");
        if (key.Length > Idempotency.KeyLengthMax || key.Any(c => c is < '!' or > '~'))
            return ApiProblem.BadRequest(ErrorCodes.IdempotencyKeyInvalid, "The Idempotency-Key must be 1-255 printable ASCII characters.");

        var (outcome, coupon) = await coupons.ClaimAsync(http.UserId(), campaignId, key, ct);
        return outcome switch
        {
            ClaimOutcome.Claimed or ClaimOutcome.Replayed =>
                Results.Json(coupon!.Body(clock.GetUnixMicroseconds()), JsonDefaults.Options, statusCode: StatusCodes.Status201Created),
            ClaimOutcome.NotFound => ApiProblem.NotFound("No coupon campaign with this id."),
            ClaimOutcome.NotActive => ApiProblem.Unprocessable(ErrorCodes.CampaignNotActive, "The campaign has not started, has ended or was stopped."),
            ClaimOutcome.OutOfStock => ApiProblem.Unprocessable(ErrorCodes.OutOfStock, "Every coupon of this campaign has been claimed."),
            ClaimOutcome.LimitReached => ApiProblem.Unprocessable(ErrorCodes.CouponLimitReached, "You hold as many coupons of this campaign as one person may."),
            ClaimOutcome.KeyReused => Idempotency.KeyReused(),
            _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "unknown claim outcome"),
        };
    }
}
