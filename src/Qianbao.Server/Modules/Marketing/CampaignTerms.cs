using System.Globalization;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>How a coupon takes money off. Stored as a number in <c>coupons.type</c>; never renumber.</summary>
internal enum CouponType : short
{
    /// <summary>无门槛: <c>amount</c> off any payment larger than it.</summary>
    Fixed = 0,

    /// <summary>折扣: <c>percent_bps</c> of the total off, rounded down to the fen, at most <c>cap</c>, from <c>min_spend</c> up.</summary>
    Percent = 1,

    /// <summary>满减: <c>amount</c> off a payment of at least <c>min_spend</c> (which is more than the amount).</summary>
    Threshold = 2,
}

internal static class CouponTypes
{
    public static string Of(CouponType type) => type switch
    {
        CouponType.Fixed => "fixed",
        CouponType.Percent => "percent",
        _ => "threshold",
    };

    public static bool TryParse(string? text, out CouponType type)
    {
        type = CouponType.Fixed;
        switch (text)
        {
            case "fixed": return true;
            case "percent": type = CouponType.Percent; return true;
            case "threshold": type = CouponType.Threshold; return true;
            default: return false;
        }
    }
}

/// <summary>
/// The discount rules, in one place so the payment path (next) and the tests use the same arithmetic. Amounts are fen.
/// <list type="bullet">
/// <item>A payment below <c>min_spend</c> gets nothing (0 = no minimum).</item>
/// <item>fixed: exactly <c>amount</c>, only on a payment larger than it (the buyer always pays at least 1 fen, so a
/// payment of the coupon's amount or less cannot use it).</item>
/// <item>percent: <c>floor(total × percent_bps / 10000)</c> (rounded down to the fen, never up: the buyer is never
/// promised a fraction of a fen), then at most <c>cap</c> (0 = no cap), then at most <c>total − 1</c>; a discount that
/// rounds to 0 is no discount.</item>
/// <item>threshold: exactly <c>amount</c> on a payment of at least <c>min_spend</c> (validated to be more than the amount).</item>
/// </list>
/// </summary>
internal static class CouponRules
{
    /// <summary>What the coupon takes off a payment of <paramref name="totalFen"/>; 0 when it cannot be used on it.</summary>
    public static long Discount(CouponType type, long amount, int percentBps, long cap, long minSpend, long totalFen)
    {
        if (totalFen <= 0 || totalFen < minSpend) return 0;
        switch (type)
        {
            case CouponType.Fixed:
            case CouponType.Threshold:
                return amount < totalFen ? amount : 0;
            case CouponType.Percent:
                // total ≤ 10^10 fen and bps ≤ 10^4: the product stays far inside a long.
                var discount = totalFen * percentBps / 10_000;
                if (cap > 0) discount = Math.Min(discount, cap);
                return Math.Min(discount, totalFen - 1);
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "unknown coupon type");
        }
    }
}

/// <summary>The kind-specific fields of a campaign, stored as JSON in <c>campaigns.terms</c>; exactly one is set.</summary>
internal sealed record CampaignTerms(CouponTerms? Coupon = null, FirstPaymentTerms? FirstPayment = null, CashbackTerms? Cashback = null,
    PointsTerms? Points = null);

/// <summary>A coupon campaign's terms: every coupon claimed copies the discount fields.</summary>
internal sealed record CouponTerms(string Type, long Amount, int PercentBps, long Cap, long MinSpend, int Stock, int PerUserMax, int? ValidDays,
    DateTimeOffset? ValidUntil, bool ReturnOnRefund)
{
    public CouponType CouponType => CouponTypes.TryParse(Type, out var t) ? t : throw new InvalidOperationException($"stored coupon type {Type}");

    public object Body() => new
    {
        type = Type, amount = Amount, percent_bps = PercentBps, cap = Cap, min_spend = MinSpend, stock = Stock, per_user_max = PerUserMax,
        valid_days = ValidDays, valid_until = ValidUntil, return_on_refund = ReturnOnRefund,
    };

    /// <summary>
    /// When a coupon claimed at <paramref name="now"/> expires: <c>valid_days</c> after the claim or at <c>valid_until</c>,
    /// and never after the campaign's end (its budget goes back to the funder then, so nothing could pay the discount).
    /// </summary>
    public DateTimeOffset ExpiresAt(DateTimeOffset now, DateTimeOffset campaignEnd)
    {
        var expires = ValidDays is { } days ? now.AddDays(days) : ValidUntil!.Value;
        return expires < campaignEnd ? expires : campaignEnd;
    }
}

internal sealed record FirstPaymentTerms(long Amount, long MinSpend);

internal sealed record CashbackTerms(int PercentBps, long Cap, long MinSpend, int SettleAfterHours);

internal sealed record PointsTerms(int MultiplierBps);

/// <summary>The kind objects of <c>POST /admin/v1/campaigns</c> as sent, and their validation into <see cref="CampaignTerms"/>.</summary>
internal static class CampaignTermsInput
{
    public sealed record Coupon(string? Type, long? Amount, long? PercentBps, long? Cap, long? MinSpend, long? Stock, long? PerUserMax, long? ValidDays,
        string? ValidUntil, bool? ReturnOnRefund);

    public sealed record FirstPayment(long? Amount, long? MinSpend);

    public sealed record Cashback(long? PercentBps, long? Cap, long? MinSpend, long? SettleAfterHours);

    public sealed record Points(long? MultiplierBps);

    public const int StockMax = 1_000_000;
    public const int PerUserMaxMax = 100;
    public const int ValidDaysMax = 365;
    public const int SettleAfterHoursMax = 24 * 365;
    public const int MultiplierBpsMin = 10_000;
    public const int MultiplierBpsMax = 100_000;

    private static bool IsAmount(long? value) => value is >= 1 and <= AmountInput.AmountMaxMinor;

    private static bool IsOptionalAmount(long? value) => value is null or (>= 0 and <= AmountInput.AmountMaxMinor);

    public static IResult? TryCoupon(Coupon c, long budget, DateTimeOffset start, out CouponTerms? terms)
    {
        terms = null;
        if (!CouponTypes.TryParse(c.Type, out var type))
            return ApiProblem.BadRequest(ErrorCodes.InvalidCouponType, "coupon.type must be fixed, percent or threshold.");
        switch (type)
        {
            case CouponType.Fixed or CouponType.Threshold:
                if (!IsAmount(c.Amount) || c.Amount > budget)
                    return ApiProblem.BadRequest(ErrorCodes.InvalidDiscountAmount, "coupon.amount (fen) is required for fixed and threshold coupons, 1..budget.");
                if (c.PercentBps is not null)
                    return ApiProblem.BadRequest(ErrorCodes.InvalidPercentBps, "coupon.percent_bps is only for percent coupons.");
                if (c.Cap is not null)
                    return ApiProblem.BadRequest(ErrorCodes.InvalidCap, "coupon.cap is only for percent coupons.");
                if (type == CouponType.Fixed && c.MinSpend is not null)
                    return ApiProblem.BadRequest(ErrorCodes.InvalidMinSpend, "a fixed coupon has no min_spend: use a threshold coupon.");
                if (type == CouponType.Threshold && (!IsAmount(c.MinSpend) || c.MinSpend <= c.Amount))
                    return ApiProblem.BadRequest(ErrorCodes.InvalidMinSpend, "a threshold coupon's min_spend is required and more than its amount.");
                break;
            default:
                if (c.Amount is not null)
                    return ApiProblem.BadRequest(ErrorCodes.InvalidDiscountAmount, "a percent coupon has no amount: give percent_bps (and a cap).");
                if (c.PercentBps is not (>= 1 and <= 10_000))
                    return ApiProblem.BadRequest(ErrorCodes.InvalidPercentBps, "coupon.percent_bps is required for percent coupons, 1..10000.");
                if (c.Cap is not null && (!IsAmount(c.Cap) || c.Cap > budget))
                    return ApiProblem.BadRequest(ErrorCodes.InvalidCap, "coupon.cap (fen) is 1..budget when given.");
                if (!IsOptionalAmount(c.MinSpend))
                    return ApiProblem.BadRequest(ErrorCodes.InvalidMinSpend, "coupon.min_spend (fen) is 0..10000000000 when given.");
                break;
        }
        if (c.Stock is not (>= 1 and <= StockMax))
            return ApiProblem.BadRequest(ErrorCodes.InvalidStock, $"coupon.stock is required, 1..{StockMax}.");
        var perUserMax = c.PerUserMax ?? 1;
        if (perUserMax < 1 || perUserMax > Math.Min(c.Stock.Value, PerUserMaxMax))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPerUserMax, $"coupon.per_user_max is 1..min(stock, {PerUserMaxMax}) (default 1).");
        DateTimeOffset? validUntil = null;
        if ((c.ValidDays is null) == (c.ValidUntil is null))
            return ApiProblem.BadRequest(ErrorCodes.InvalidValidity, "give exactly one of coupon.valid_days and coupon.valid_until.");
        if (c.ValidDays is not null and not (>= 1 and <= ValidDaysMax))
            return ApiProblem.BadRequest(ErrorCodes.InvalidValidity, $"coupon.valid_days is 1..{ValidDaysMax}.");
        if (c.ValidUntil is not null)
        {
            if (!TryParseTime(c.ValidUntil, out var until) || until <= start)
                return ApiProblem.BadRequest(ErrorCodes.InvalidValidity, "coupon.valid_until is an RFC 3339 time with an offset, after starts_at.");
            validUntil = until;
        }
        terms = new CouponTerms(CouponTypes.Of(type), c.Amount ?? 0, (int)(c.PercentBps ?? 0), c.Cap ?? 0, c.MinSpend ?? 0, (int)c.Stock.Value,
            (int)perUserMax, (int?)c.ValidDays, validUntil, c.ReturnOnRefund ?? true);
        return null;
    }

    public static IResult? TryFirstPayment(FirstPayment f, long budget, out FirstPaymentTerms? terms)
    {
        terms = null;
        if (!IsAmount(f.Amount) || f.Amount > budget)
            return ApiProblem.BadRequest(ErrorCodes.InvalidDiscountAmount, "first_payment.amount (fen) is required, 1..budget.");
        if (!IsAmount(f.MinSpend) || f.MinSpend <= f.Amount)
            return ApiProblem.BadRequest(ErrorCodes.InvalidMinSpend, "first_payment.min_spend is required and more than its amount (the buyer pays at least 1 fen).");
        terms = new FirstPaymentTerms(f.Amount!.Value, f.MinSpend!.Value);
        return null;
    }

    public static IResult? TryCashback(Cashback c, long budget, out CashbackTerms? terms)
    {
        terms = null;
        if (c.PercentBps is not (>= 1 and <= 10_000))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPercentBps, "cashback.percent_bps is required, 1..10000.");
        if (c.Cap is not null && (!IsAmount(c.Cap) || c.Cap > budget))
            return ApiProblem.BadRequest(ErrorCodes.InvalidCap, "cashback.cap (fen) is 1..budget when given.");
        if (!IsOptionalAmount(c.MinSpend))
            return ApiProblem.BadRequest(ErrorCodes.InvalidMinSpend, "cashback.min_spend (fen) is 0..10000000000 when given.");
        if (c.SettleAfterHours is not (>= 0 and <= SettleAfterHoursMax))
            return ApiProblem.BadRequest(ErrorCodes.InvalidSettleAfterHours, $"cashback.settle_after_hours is required, 0..{SettleAfterHoursMax}.");
        terms = new CashbackTerms((int)c.PercentBps.Value, c.Cap ?? 0, c.MinSpend ?? 0, (int)c.SettleAfterHours.Value);
        return null;
    }

    public static IResult? TryPoints(Points p, out PointsTerms? terms)
    {
        terms = null;
        if (p.MultiplierBps is not (>= MultiplierBpsMin and <= MultiplierBpsMax))
            return ApiProblem.BadRequest(ErrorCodes.InvalidMultiplierBps, $"points.multiplier_bps is required, {MultiplierBpsMin}..{MultiplierBpsMax} (10000 = ×1).");
        terms = new PointsTerms((int)p.MultiplierBps.Value);
        return null;
    }

    /// <summary>An RFC 3339 time with an explicit offset (a time without one would depend on the server's zone).</summary>
    public static bool TryParseTime(string? text, out DateTimeOffset value)
    {
        value = default;
        if (string.IsNullOrEmpty(text) || text.Length > 40) return false;
        var last = text[^1];
        var hasOffset = last is 'Z' or 'z' || (text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':');
        return hasOffset && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out value);
    }
}
