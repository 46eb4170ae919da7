using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>
/// <c>GET /v1/coupons?status=available|used|expired</c> (user) → <c>{items}</c>: the caller's coupons, newest first (at
/// most 200). An available coupon past its <c>expires_at</c> is listed as expired.
/// </summary>
internal static class ListCoupons
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/coupons", HandleAsync).RequireUser().WithTags("Marketing");

    private static async Task<IResult> HandleAsync(HttpContext http, string? status, Coupons coupons, TimeProvider clock, CancellationToken ct)
    {
        if (!CouponViews.TryParse(status, out var view))
            return ApiProblem.BadRequest(ErrorCodes.InvalidStatus, "status must be available, used or expired.");
        var rows = await coupons.ListAsync(http.UserId(), view, ct);
        var now = clock.GetUnixMicroseconds();
        return Results.Json(new { items = rows.Select(r => r.Body(now)) }, JsonDefaults.Options);
    }
}

/// <summary>
/// <c>GET /v1/campaigns</c> (user) → <c>{items:[{id, name, type, amount, percent_bps, cap, min_spend, currency,
/// merchant_ids, remaining_stock, per_user_max, claimed, ends_at}]}</c>: the coupon campaigns active now with stock
/// left of which the caller may still claim one, ending soonest first.
/// </summary>
internal static class ListClaimableCampaigns
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/campaigns", HandleAsync).RequireUser().WithTags("Marketing");

    private static async Task<IResult> HandleAsync(HttpContext http, Coupons coupons, CancellationToken ct)
    {
        var rows = await coupons.ClaimableAsync(http.UserId(), ct);
        return Results.Json(new
        {
            items = rows.Select(r =>
            {
                var t = System.Text.Json.JsonSerializer.Deserialize<CampaignTerms>(r.terms, JsonDefaults.Options)!.Coupon!;
                return new
                {
                    r.id, r.name, t.Type, t.Amount, t.PercentBps, t.Cap, t.MinSpend, r.currency, merchant_ids = MerchantScope.Parse(r.merchant_ids),
                    remaining_stock = r.coupon_stock - r.coupons_claimed, per_user_max = r.coupon_per_user_max, claimed = r.mine,
                    ends_at = TimeProviderExtensions.FromUnixMicroseconds(r.ends_at_us),
                };
            }),
        }, JsonDefaults.Options);
    }
}
