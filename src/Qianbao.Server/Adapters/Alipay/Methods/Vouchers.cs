using System.Text.Json;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Marketing;

namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary>How vouchers are read and written on the gateway.</summary>
internal static class VoucherFields
{
    public const int BrandNameLengthMax = 12;
    public const int OutBizNoLengthMax = 64;
    public const int DescriptionLengthMax = 1024;
    public const int QuantityMax = 1_000_000;
    public const int PublishSpanDaysMax = 90;
    public const int RelativeDaysMax = 365;

    /// <summary>Template and voucher ids are the wallet's ids written as 32 hex digits (as <c>buyer_user_id</c> is).</summary>
    public static string Id(Guid id) => id.ToString("N");

    public static bool TryParseId(string? text, out Guid id) => Guid.TryParseExact(text, "N", out id);

    /// <summary>A voucher's status as Alipay names it: ENABLED (usable), USED, EXPIRED.</summary>
    public static string Status(CouponView view) => view switch
    {
        CouponView.Available => "ENABLED",
        CouponView.Used => "USED",
        _ => "EXPIRED",
    };

    public static GatewayResult TemplateNotExist() => GatewayResult.Business(GatewaySubCodes.TemplateNotExist, "券模板不存在");
}

/// <summary>
/// <c>alipay.marketing.cashlessvoucher.template.create</c>: a CASHLESS_FIX_VOUCHER template, which here is a coupon campaign
/// funded by the calling merchant: amount × voucher_quantity moves from its settlement balance into the campaign's budget
/// (<c>INSUFFICIENT_BALANCE</c> when it is short, and nothing moves). Vouchers apply only at this merchant. Idempotent per
/// out_biz_no.
/// </summary>
internal sealed class VoucherTemplateCreate(MerchantVouchers vouchers) : IGatewayMethod
{
    public string Name => "alipay.marketing.cashlessvoucher.template.create";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        var b = c.Biz;
        if (b.Require("voucher_type", 32, out var type) is { } e1) return e1;
        if (type != "CASHLESS_FIX_VOUCHER") return GatewayResult.InvalidParameter("参数 voucher_type 不合法: 仅支持 CASHLESS_FIX_VOUCHER");
        if (b.Require("brand_name", VoucherFields.BrandNameLengthMax, out var brand) is { } e2) return e2;
        if (b.Require("out_biz_no", VoucherFields.OutBizNoLengthMax, out var outBizNo) is { } e3) return e3;
        if (b.RequireAmount("amount", out var amount) is { } e4) return e4;
        long floor = 0;
        if (b.String("floor_amount") is { Length: > 0 } && b.RequireAmount("floor_amount", out floor) is { } e5) return e5;
        // A floor at or below the amount would make the voucher pay the whole bill: it must be above it (or absent).
        if (floor != 0 && floor <= amount) return GatewayResult.InvalidParameter("参数 floor_amount 必须大于 amount");
        if (b.Require("voucher_quantity", 10, out var quantityText) is { } e6) return e6;
        if (!int.TryParse(quantityText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var quantity)
            || quantity is < 1 or > VoucherFields.QuantityMax)
            return GatewayResult.InvalidParameter($"参数 voucher_quantity 不合法: 1..{VoucherFields.QuantityMax}");
        if (amount > 10_000_000_000 / quantity) return GatewayResult.InvalidParameter("参数 amount × voucher_quantity 过大");
        if (b.Optional("voucher_description", VoucherFields.DescriptionLengthMax, out var description) is { } e7) return e7;
        if (!AlipayTime.TryParseChina(b.String("publish_start_time"), out var publishStart))
            return GatewayResult.InvalidParameter("参数 publish_start_time 不合法 (yyyy-MM-dd HH:mm:ss)");
        if (!AlipayTime.TryParseChina(b.String("publish_end_time"), out var publishEnd) || publishEnd <= publishStart || publishEnd <= c.Now
            || publishEnd - publishStart > TimeSpan.FromDays(VoucherFields.PublishSpanDaysMax))
            return GatewayResult.InvalidParameter($"参数 publish_end_time 不合法: 晚于 publish_start_time 与当前时间, 跨度不超过 {VoucherFields.PublishSpanDaysMax} 天");
        if (ParsePeriod(b, publishStart, publishEnd, out var validDays, out var validUntil, out var campaignEnd) is { } e8) return e8;

        var spec = new VoucherTemplateSpec(c.App.merchant_id, outBizNo, brand, amount, floor, quantity, publishStart, publishEnd, validDays, validUntil,
            campaignEnd, description ?? "");
        var (outcome, templateId) = await vouchers.CreateTemplateAsync(spec, ct);
        return outcome switch
        {
            VoucherTemplateOutcome.Created or VoucherTemplateOutcome.Replayed =>
                GatewayResult.Success(Field.Of("template_id", VoucherFields.Id(templateId))),
            VoucherTemplateOutcome.InsufficientFunds => GatewayResult.Business(GatewaySubCodes.InsufficientBalance, "商户余额不足以支付券预算"),
            _ => GatewayResult.Business(GatewaySubCodes.ContextInconsistent, "out_biz_no 已用于不同的券模板"),
        };
    }

    /// <summary>
    /// <c>voucher_valid_period</c>, a JSON text (or object): <c>{"type":"ABSOLUTE","start":"…","end":"…"}</c> (China time; usable
    /// until <c>end</c>, after the publish start) or <c>{"type":"RELATIVE","duration":N,"unit":"DAY"}</c> (N days from each
    /// send, 1..365). The campaign ends — and returns what is left to the merchant — when the last voucher can expire.
    /// </summary>
    private static GatewayResult? ParsePeriod(JsonElement biz, DateTimeOffset publishStart, DateTimeOffset publishEnd, out int? validDays,
        out DateTimeOffset? validUntil, out DateTimeOffset campaignEnd)
    {
        validDays = null;
        validUntil = null;
        campaignEnd = default;
        var bad = GatewayResult.InvalidParameter("参数 voucher_valid_period 不合法");
        if (!biz.TryGetProperty("voucher_valid_period", out var raw)) return GatewayResult.MissingParameter("voucher_valid_period");
        JsonElement period;
        try
        {
            period = raw.ValueKind == JsonValueKind.String ? JsonDocument.Parse(raw.GetString()!).RootElement : raw;
        }
        catch (JsonException)
        {
            return bad;
        }
        if (period.ValueKind != JsonValueKind.Object) return bad;
        switch (period.String("type"))
        {
            case "ABSOLUTE":
                if (!AlipayTime.TryParseChina(period.String("end"), out var end) || end <= publishStart) return bad;
                if (period.String("start") is { } startText && (!AlipayTime.TryParseChina(startText, out var start) || start >= end)) return bad;
                validUntil = end;
                campaignEnd = end;
                return null;
            case "RELATIVE":
                if (period.String("unit") is { } unit && unit != "DAY") return bad;
                if (!int.TryParse(period.String("duration"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
                        out var days) || days is < 1 or > VoucherFields.RelativeDaysMax)
                    return bad;
                validDays = days;
                campaignEnd = publishEnd.AddDays(days);
                return null;
            default:
                return bad;
        }
    }
}

/// <summary>
/// <c>alipay.marketing.voucher.send</c>: one voucher of the merchant's template to <c>user_id</c> (the user as the gateway
/// shows buyers in <c>buyer_user_id</c>). Idempotent per (template_id, out_biz_no); the same out_biz_no for another user is
/// refused.
/// </summary>
internal sealed class VoucherSend(MerchantVouchers vouchers, UserDirectory users) : IGatewayMethod
{
    public string Name => "alipay.marketing.voucher.send";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        var b = c.Biz;
        if (b.Require("template_id", 32, out var templateText) is { } e1) return e1;
        if (b.Require("user_id", 32, out var userText) is { } e2) return e2;
        if (b.Require("out_biz_no", VoucherFields.OutBizNoLengthMax, out var outBizNo) is { } e3) return e3;
        if (!VoucherFields.TryParseId(templateText, out var templateId)) return VoucherFields.TemplateNotExist();
        if (!VoucherFields.TryParseId(userText, out var userId) || !await users.ExistsAsync(userId, ct))
            return GatewayResult.Business(GatewaySubCodes.UserNotExist, "用户不存在");
        var (outcome, coupon) = await vouchers.SendAsync(c.App.merchant_id, templateId, userId, outBizNo, ct);
        return outcome switch
        {
            VoucherSendOutcome.Sent or VoucherSendOutcome.Replayed => GatewayResult.Success(Field.Of("voucher_id", VoucherFields.Id(coupon!.id))),
            VoucherSendOutcome.TemplateNotFound => VoucherFields.TemplateNotExist(),
            VoucherSendOutcome.NotActive => GatewayResult.Business(GatewaySubCodes.TemplateNotActive, "券模板不在发放期内"),
            VoucherSendOutcome.OutOfStock => GatewayResult.Business(GatewaySubCodes.VoucherStockNotEnough, "券已发完"),
            VoucherSendOutcome.LimitReached => GatewayResult.Business(GatewaySubCodes.UserVoucherLimit, "用户领取次数已达上限"),
            _ => GatewayResult.Business(GatewaySubCodes.ContextInconsistent, "out_biz_no 已用于向其他用户发券"),
        };
    }
}

/// <summary><c>alipay.marketing.voucher.query</c>: one of the merchant's vouchers and its status (ENABLED, USED, EXPIRED).</summary>
internal sealed class VoucherQuery(MerchantVouchers vouchers) : IGatewayMethod
{
    public string Name => "alipay.marketing.voucher.query";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        if (c.Biz.Require("voucher_id", 32, out var text) is { } e1) return e1;
        if (!VoucherFields.TryParseId(text, out var voucherId) || await vouchers.FindVoucherAsync(c.App.merchant_id, voucherId, ct) is not { } v)
            return GatewayResult.Business(GatewaySubCodes.VoucherNotExist, "券不存在");
        var coupon = v.Coupon;
        return GatewayResult.Success(
            Field.Of("voucher_id", VoucherFields.Id(coupon.id)), Field.Of("template_id", VoucherFields.Id(coupon.campaign_id)),
            Field.Of("voucher_name", v.Campaign.name), Field.Of("voucher_type", "CASHLESS_FIX_VOUCHER"), Field.Of("user_id", VoucherFields.Id(coupon.user_id)),
            Field.Of("status", VoucherFields.Status(v.View)), Field.Of("amount", TradeFields.Yuan(coupon.amount)),
            Field.Of("floor_amount", TradeFields.Yuan(coupon.min_spend)),
            Field.Of("gmt_create", TradeFields.ChinaTime(coupon.claimed_at_us)), Field.Of("gmt_active", TradeFields.ChinaTime(coupon.claimed_at_us)),
            Field.Of("gmt_expired", TradeFields.ChinaTime(coupon.expires_at_us)),
            Field.Of("gmt_use", coupon.used_at_us is { } u ? TradeFields.ChinaTime(u) : null));
    }
}
