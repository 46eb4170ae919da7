using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>
/// Who a campaign selects; every field optional (<c>{}</c> selects everyone open). Money is in fen. Payments are those the
/// messaging payments subscriber has seen (trade.paid); <c>merchant_ids</c> limits the payment facts to those merchants and,
/// alone, selects people who ever paid one of them.
/// </summary>
internal sealed record Segment(
    DateTimeOffset? RegisteredFrom = null,
    DateTimeOffset? RegisteredTo = null,
    int? PaidWithinDays = null,
    int? NotPaidWithinDays = null,
    [property: JsonPropertyName("spend_30d_min")] long? Spend30dMin = null,
    IReadOnlyList<Guid>? MerchantIds = null,
    IReadOnlyList<string>? Tiers = null,
    IReadOnlyList<string>? Locales = null,
    Guid? FollowsMerchantId = null)
{
    public static readonly IReadOnlyList<string> TierNames = ["unverified", "class_i", "class_ii", "class_iii"];
    public static readonly IReadOnlyList<string> LocaleNames = ["zh-CN", "en"];

    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Unknown { get; init; }

    /// <summary>Null when valid, else why not.</summary>
    public string? Problem()
    {
        if (Unknown is { Count: > 0 }) return $"unknown segment field {Unknown.Keys.First()}.";
        if (RegisteredFrom is { } f && RegisteredTo is { } t && f > t) return "registered_from is after registered_to.";
        if (PaidWithinDays is < 1 or > 3650) return "paid_within_days must be 1..3650.";
        if (NotPaidWithinDays is < 1 or > 3650) return "not_paid_within_days must be 1..3650.";
        if (Spend30dMin is < 0) return "spend_30d_min must not be negative.";
        if (MerchantIds is { Count: > 100 }) return "at most 100 merchant_ids.";
        if (Tiers is { } tiers && tiers.Any(x => !TierNames.Contains(x))) return "tiers are unverified, class_i, class_ii, class_iii.";
        if (Locales is { } locales && locales.Any(x => !LocaleNames.Contains(x))) return "locales are zh-CN, en.";
        return null;
    }
}

/// <summary>What tapping the message does, as the notification carries it.</summary>
internal sealed record VariantAction(string? Type, Guid? CampaignId = null, string? Url = null);

internal sealed record Variant(string? Key, int? Weight, string? Title, string? Body, string? EmailSubject = null, VariantAction? Action = null);

internal sealed record Conversion(string? Event, IReadOnlyList<Guid>? MerchantIds = null, int? WindowHours = null);

/// <summary>The kinds of conversion a campaign measures.</summary>
internal enum ConversionEvent : short { CouponClaimed = 0, CouponUsed = 1, Payment = 2 }

/// <summary>The stored definition (JSON in <c>messaging_campaigns.definition</c>), validated.</summary>
internal sealed record CampaignDefinition(Segment Segment, IReadOnlyList<string> Channels, IReadOnlyList<Variant> Variants, Conversion Conversion)
{
    public const int VariantsMax = 10;
    public const int TitleLengthMax = 100;
    public const int BodyLengthMax = 1000;
    public const int DefaultWindowHours = 72;

    private static readonly Regex KeyPattern = new("^[a-z0-9_-]{1,32}$", RegexOptions.CultureInvariant);

    public static readonly IReadOnlyDictionary<string, NotificationChannel> ChannelNames = new Dictionary<string, NotificationChannel>
    {
        ["in_app"] = NotificationChannel.InApp, ["sms"] = NotificationChannel.Sms, ["email"] = NotificationChannel.Email,
    };

    public static readonly IReadOnlyDictionary<string, ConversionEvent> EventNames = new Dictionary<string, ConversionEvent>
    {
        ["coupon_claimed"] = ConversionEvent.CouponClaimed, ["coupon_used"] = ConversionEvent.CouponUsed, ["payment"] = ConversionEvent.Payment,
    };

    public ConversionEvent Event => EventNames[Conversion.Event!];

    public long WindowUs => (Conversion.WindowHours ?? DefaultWindowHours) * 3_600_000_000L;

    public IReadOnlySet<NotificationChannel> ChannelSet => Channels.Select(c => ChannelNames[c]).ToHashSet();

    /// <summary>The coupon campaigns the variants offer: coupon conversions count claims and uses of these (any coupon when none).</summary>
    public IReadOnlyList<Guid> CouponCampaignIds =>
        Variants.Where(v => v.Action?.Type == "claim_coupon").Select(v => v.Action!.CampaignId!.Value).Distinct().ToList();

    public static IResult? ValidateSegment(Segment? segment) =>
        segment?.Problem() is { } why ? ApiProblem.BadRequest(ErrorCodes.InvalidSegment, why) : null;

    /// <summary>Validates every part; the first problem found is answered with its stable code.</summary>
    public static IResult? Validate(IReadOnlyList<string>? channels, IReadOnlyList<Variant>? variants, Conversion? conversion)
    {
        if (channels is not { Count: > 0 } || channels.Any(c => !ChannelNames.ContainsKey(c)) || channels.Distinct().Count() != channels.Count)
            return ApiProblem.BadRequest(ErrorCodes.InvalidMessagingCampaign, "channels must be a non-empty list of in_app, sms, email.");
        if (variants is not { Count: > 0 and <= VariantsMax })
            return ApiProblem.BadRequest(ErrorCodes.InvalidVariants, $"variants must hold 1..{VariantsMax} variants.");
        foreach (var v in variants)
        {
            if (v is null || v.Key is not { } key || !KeyPattern.IsMatch(key))
                return ApiProblem.BadRequest(ErrorCodes.InvalidVariants, "each variant's key must be 1..32 of a-z, 0-9, _ and -.");
            if (v.Weight is not (>= 1 and <= 10_000))
                return ApiProblem.BadRequest(ErrorCodes.InvalidVariants, $"variant {key}: weight must be 1..10000.");
            if (v.Title is not { Length: > 0 and <= TitleLengthMax } || v.Body is not { Length: > 0 and <= BodyLengthMax }
                || v.EmailSubject is { Length: 0 or > TitleLengthMax })
                return ApiProblem.BadRequest(ErrorCodes.InvalidVariants, $"variant {key}: title (1..{TitleLengthMax}), body (1..{BodyLengthMax}) and email_subject are required in range.");
            if (v.Action is { } a && !ValidAction(a))
                return ApiProblem.BadRequest(ErrorCodes.InvalidVariants, $"variant {key}: action is {{type:\"claim_coupon\", campaign_id}} or {{type:\"open_url\", url}} with an https URL.");
        }
        if (variants.Select(v => v.Key).Distinct().Count() != variants.Count)
            return ApiProblem.BadRequest(ErrorCodes.InvalidVariants, "variant keys must differ.");
        if (conversion is null || conversion.Event is not { } ev || !EventNames.ContainsKey(ev))
            return ApiProblem.BadRequest(ErrorCodes.InvalidConversion, "conversion.event must be coupon_claimed, coupon_used or payment.");
        if (conversion.WindowHours is < 1 or > 720)
            return ApiProblem.BadRequest(ErrorCodes.InvalidConversion, "conversion.window_hours must be 1..720.");
        if (conversion.MerchantIds is { Count: > 100 })
            return ApiProblem.BadRequest(ErrorCodes.InvalidConversion, "at most 100 conversion.merchant_ids.");
        return null;
    }

    private static bool ValidAction(VariantAction a) => a.Type switch
    {
        "claim_coupon" => a.CampaignId is not null && a.Url is null,
        "open_url" => a.CampaignId is null && a.Url is { Length: <= 2000 } url && Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme == Uri.UriSchemeHttps,
        _ => false,
    };

    public static NotificationAction? ToAction(VariantAction? a) => a switch
    {
        null => null,
        { Type: "claim_coupon" } => NotificationAction.ClaimCoupon(a.CampaignId!.Value),
        _ => NotificationAction.OpenUrl(a.Url!),
    };
}

/// <summary>Deterministic assignment: the same person in the same campaign gets the same arm on every run and process.</summary>
internal static class VariantAssignment
{
    /// <summary>The variant's key, or null for the holdout.</summary>
    public static string? Assign(Guid campaignId, Guid userId, int holdoutBps, IReadOnlyList<Variant> variants)
    {
        Span<byte> input = stackalloc byte[32];
        campaignId.TryWriteBytes(input[..16]);
        userId.TryWriteBytes(input[16..]);
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(input, hash);
        // 53 bits: a uniform double in [0, 1) without rounding bias.
        var x = (System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(hash) >> 11) * (1.0 / (1UL << 53));
        var holdout = holdoutBps / 10_000.0;
        if (x < holdout) return null;
        var y = (x - holdout) / (1 - holdout);
        var total = variants.Sum(v => (long)v.Weight!.Value);
        var point = y * total;
        long cumulative = 0;
        foreach (var v in variants)
        {
            cumulative += v.Weight!.Value;
            if (point < cumulative) return v.Key;
        }
        return variants[^1].Key;
    }
}
