using System.Security.Cryptography;
using System.Text;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Merchants.Accounts;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>How the merchant API shows a campaign the merchant funds (a voucher template or an operator's merchant-funded campaign).</summary>
internal static class MerchantVoucherJson
{
    public static object Of(CampaignRow c, VoucherTemplateRow? template, long budgetAvailable, long nowUs)
    {
        var coupon = c.Terms.Coupon;
        var left = c.State == CampaignState.Open ? budgetAvailable : 0;
        return new
        {
            id = c.id, name = c.name, source = template is null ? "campaign" : "voucher", kind = CampaignNames.Of(c.Kind),
            status = CampaignNames.Of(c.StatusAt(nowUs)), currency = c.currency,
            amount = coupon?.Amount, percent_bps = coupon is { PercentBps: > 0 } ? coupon.PercentBps : (int?)null, floor_amount = coupon?.MinSpend,
            stock = c.coupon_stock, claimed = c.coupons_claimed, used = c.coupons_used,
            budget = new { amount = c.budget_amount, left, returned = c.returned_amount },
            starts_at = TimeProviderExtensions.FromUnixMicroseconds(c.starts_at_us),
            publish_end_at = template is null ? (DateTimeOffset?)null : TimeProviderExtensions.FromUnixMicroseconds(template.publish_end_at_us),
            ends_at = TimeProviderExtensions.FromUnixMicroseconds(c.ends_at_us),
            valid_days = coupon?.ValidDays, valid_until = coupon?.ValidUntil,
            description = template?.description,
            created_at = TimeProviderExtensions.FromUnixMicroseconds(c.created_at_us),
            closed_at = c.closed_at_us is { } closed ? TimeProviderExtensions.FromUnixMicroseconds(closed) : (DateTimeOffset?)null,
        };
    }

    public static async Task<object> OfAsync(Campaigns campaigns, CampaignRow c, VoucherTemplateRow? template, TimeProvider clock, CancellationToken ct) =>
        Of(c, template, c.State == CampaignState.Open ? await campaigns.BudgetAvailableAsync(c, ct) : 0, clock.GetUnixMicroseconds());
}

/// <summary>
/// <c>GET /merchant/v1/vouchers</c> (every staff role) → <c>{items:[{id, name, source, kind, status, amount, percent_bps,
/// floor_amount, stock, claimed, used, budget:{amount, left, returned}, starts_at, publish_end_at, ends_at, ...}]}</c>: the
/// campaigns the merchant funds, newest first (at most 200): its voucher templates (<c>source:"voucher"</c>, made here or by
/// the gateway's <c>alipay.marketing.cashlessvoucher.template.create</c>) and operators' campaigns funded from its balance
/// (<c>source:"campaign"</c>). <c>budget.left</c> is what the budget account still holds (0 once stopped or ended and returned).
/// </summary>
internal static class ListMerchantVouchers
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/merchant/v1/vouchers", HandleAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");

    private static async Task<IResult> HandleAsync(HttpContext http, MerchantVouchers vouchers, Campaigns campaigns, TimeProvider clock, CancellationToken ct)
    {
        var (rows, templates) = await vouchers.ListFundedByAsync(http.Merchant().MerchantId, ct);
        var open = rows.Where(r => r.State == CampaignState.Open).ToList();
        var available = await campaigns.BudgetsAvailableAsync(open, ct);
        var nowUs = clock.GetUnixMicroseconds();
        var items = rows.Select(r => MerchantVoucherJson.Of(r, templates.GetValueOrDefault(r.id), available.GetValueOrDefault(r.id), nowUs));
        return Results.Json(new { items }, JsonDefaults.Options);
    }
}

/// <summary>
/// <c>POST /merchant/v1/vouchers</c> (admin; Idempotency-Key) <c>{name, amount, floor_amount?, quantity, publish_start?,
/// publish_end, valid_days? | valid_until?, description?}</c> → 201 the voucher template. The same path as the gateway's
/// <c>alipay.marketing.cashlessvoucher.template.create</c> (<see cref="MerchantVouchers.CreateTemplateAsync"/>, with its
/// rules): amount × quantity moves from the merchant's settlement balance into the campaign's budget in one ledger command
/// (422 <c>merchant_balance_insufficient</c> when short, and nothing moves). The key is the template's out_biz_no
/// (<c>mapi-</c> + 32 hex digits of its SHA-256): the same key again answers 200 with that template, with another budget 422
/// <c>idempotency_key_reused</c>. 400 <c>invalid_campaign_name</c> (1..12 characters), <c>invalid_discount_amount</c>,
/// <c>invalid_min_spend</c> (above the amount, or absent), <c>invalid_stock</c> (1..1,000,000), <c>invalid_campaign_window</c>
/// (publish end after the start and now, at most 90 days; exactly one of valid_days 1..365 or valid_until after the publish
/// start), <c>invalid_text</c> (description).
/// </summary>
internal static class CreateMerchantVoucher
{
    public sealed record Request(string? Name, long? Amount, long? FloorAmount, int? Quantity, DateTimeOffset? PublishStart, DateTimeOffset? PublishEnd,
        int? ValidDays, DateTimeOffset? ValidUntil, string? Description);

    // The gateway's limits for the same templates (Adapters/Alipay/Methods/Vouchers.cs), so both doors accept the same.
    public const int NameLengthMax = 12;
    public const int DescriptionLengthMax = 1024;
    public const int QuantityMax = 1_000_000;
    public const int PublishSpanDaysMax = 90;
    public const int ValidDaysMax = 365;
    public const long BudgetMaxFen = 10_000_000_000;
    public const string OutBizNoPrefix = "mapi-";

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/merchant/v1/vouchers", HandleAsync).RequireMerchant().WithTags("Merchant");

    public static string OutBizNo(string idempotencyKey) =>
        OutBizNoPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)))[..32];

    private static async Task<IResult> HandleAsync(HttpContext http, MerchantVouchers vouchers, Campaigns campaigns, TimeProvider clock, CancellationToken ct)
    {
        var key = http.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length == 0) return ApiProblem.BadRequest(ErrorCodes.IdempotencyKeyMissing, "Send an Idempotency-Key header (1-255 printable ASCII characters).");
        if (key.Length > Money.Idempotency.KeyLengthMax || key.Any(c => c is < '!' or > '~'))
            return ApiProblem.BadRequest(ErrorCodes.IdempotencyKeyInvalid, "The Idempotency-Key must be 1-255 printable ASCII characters.");
        var (r, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        var now = clock.GetUtcNow();
        var merchantId = http.Merchant().MerchantId;
        var (spec, invalid) = Validate(r!, merchantId, OutBizNo(key), now);
        if (invalid is not null) return invalid;

        var (outcome, templateId) = await vouchers.CreateTemplateAsync(spec, ct);
        switch (outcome)
        {
            case VoucherTemplateOutcome.InsufficientFunds:
                return ApiProblem.Unprocessable(ErrorCodes.MerchantBalanceInsufficient, "The settlement balance does not hold amount × quantity.");
            case VoucherTemplateOutcome.OutBizNoReused:
                return Money.Idempotency.KeyReused();
        }
        var found = (await vouchers.FindTemplateAsync(merchantId, templateId, ct))!.Value;
        var body = await MerchantVoucherJson.OfAsync(campaigns, found.Campaign, found.Template, clock, ct);
        return Results.Json(body, JsonDefaults.Options,
            statusCode: outcome == VoucherTemplateOutcome.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private readonly record struct Checked(VoucherTemplateSpec Spec, IResult? Problem);

    /// <summary>The spec, or (as a <see cref="Checked"/> with only a problem) why the request is refused.</summary>
    private static Checked Validate(Request r, Guid merchantId, string outBizNo, DateTimeOffset now)
    {
        static Checked Bad(string code, string message) => new(default, ApiProblem.BadRequest(code, message));
        var name = r.Name?.Trim() ?? "";
        if (name.Length is 0 or > NameLengthMax || name.Any(char.IsControl))
            return Bad(ErrorCodes.InvalidCampaignName, $"name must be 1..{NameLengthMax} printable characters.");
        if (r.Amount is not > 0) return Bad(ErrorCodes.InvalidDiscountAmount, "amount must be a positive whole number of fen.");
        var floor = r.FloorAmount ?? 0;
        if (floor < 0 || (floor != 0 && floor <= r.Amount))
            return Bad(ErrorCodes.InvalidMinSpend, "floor_amount must be above amount (a voucher never pays the whole bill), or absent.");
        if (r.Quantity is not (>= 1 and <= QuantityMax)) return Bad(ErrorCodes.InvalidStock, $"quantity must be 1..{QuantityMax}.");
        if (r.Amount > BudgetMaxFen / r.Quantity) return Bad(ErrorCodes.InvalidDiscountAmount, $"amount × quantity must be at most {BudgetMaxFen} fen.");
        var start = r.PublishStart ?? now;
        if (r.PublishEnd is not { } end || end <= start || end <= now || end - start > TimeSpan.FromDays(PublishSpanDaysMax))
            return Bad(ErrorCodes.InvalidCampaignWindow, $"publish_end must be after publish_start and now, at most {PublishSpanDaysMax} days after the start.");
        DateTimeOffset campaignEnd;
        if (r.ValidDays is { } days && r.ValidUntil is null)
        {
            if (days is < 1 or > ValidDaysMax) return Bad(ErrorCodes.InvalidCampaignWindow, $"valid_days must be 1..{ValidDaysMax}.");
            campaignEnd = end.AddDays(days);
        }
        else if (r.ValidUntil is { } until && r.ValidDays is null)
        {
            if (until <= start) return Bad(ErrorCodes.InvalidCampaignWindow, "valid_until must be after publish_start.");
            campaignEnd = until;
        }
        else return Bad(ErrorCodes.InvalidCampaignWindow, "Send exactly one of valid_days and valid_until.");
        var description = r.Description ?? "";
        if (description.Length > DescriptionLengthMax || description.Any(c => char.IsControl(c) && c is not '\n'))
            return Bad(ErrorCodes.InvalidText, $"description must be at most {DescriptionLengthMax} characters.");
        return new Checked(new VoucherTemplateSpec(merchantId, outBizNo, name, r.Amount.Value, floor, r.Quantity.Value, start, end, r.ValidDays,
            r.ValidUntil, campaignEnd, description), null);
    }
}

/// <summary>
/// <c>POST /merchant/v1/vouchers/{id}/stop</c> (admin) → 200 the voucher template, <c>status:"stopped"</c>: the operators'
/// stop (<see cref="CampaignClosing"/>): what is left of the budget returns to the merchant's settlement balance exactly once;
/// vouchers already claimed can no longer be used. Stopping a stopped or ended one answers it as it is. Only the merchant's
/// own voucher templates: an operator's campaign (source <c>campaign</c>) or another merchant's is 404.
/// </summary>
internal static class StopMerchantVoucher
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/merchant/v1/vouchers/{id}/stop", HandleAsync).RequireMerchant().WithTags("Merchant");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, MerchantVouchers vouchers, CampaignClosing closing, Campaigns campaigns,
        TimeProvider clock, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var templateId)) return ApiProblem.NotFound();
        var merchantId = http.Merchant().MerchantId;
        if (await vouchers.FindTemplateAsync(merchantId, templateId, ct) is not { } found) return ApiProblem.NotFound();
        var row = await closing.CloseAsync(templateId, CampaignState.Stopped, ct) ?? found.Campaign;
        return Results.Json(await MerchantVoucherJson.OfAsync(campaigns, row, found.Template, clock, ct), JsonDefaults.Options);
    }
}
