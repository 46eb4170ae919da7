using System.Text.Json;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Memberships;

namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary>How member cards are read and written on the gateway.</summary>
internal static class CardFields
{
    public const int RequestIdLengthMax = 64;
    public const int CardTypeLengthMax = 32;
    public const int ShowNameLengthMax = 32;
    public const int LevelLengthMax = 32;
    public const int LevelDescLengthMax = 256;
    public const int LevelsMax = 10;
    public const int OutSerialNoLengthMax = 64;

    /// <summary>
    /// The extension field inside each <c>card_level_conf</c> item, where Alipay has none for it:
    /// <c>{"min_spend_12m":"yuan","points_multiplier_bps":N}</c>. The first level's threshold is 0 (it may be left out), each
    /// next one higher; the multiplier is 10000..100000 (default 10000 = ×1).
    /// </summary>
    public const string LevelRuleField = "qianbao_level_rule";

    /// <summary>The extension field in <c>card_info</c> of card.query: the member's 12-month spend at the merchant, in yuan.</summary>
    public const string Spend12MonthsField = "qianbao_spend_12m";

    public const int MultiplierBpsMin = 10_000;
    public const int MultiplierBpsMax = 100_000;

    public static Dictionary<string, object?> CardInfo(MembershipStanding s, bool withSpend)
    {
        var info = new Dictionary<string, object?>
        {
            ["biz_card_no"] = s.Card.biz_card_no,
            ["external_card_no"] = s.Card.out_serial_no,
            ["open_date"] = TradeFields.ChinaTime(s.Card.opened_at_us),
            ["valid_date"] = "2999-12-31 23:59:59",
            ["level"] = s.Level.Level,
            ["point"] = s.Points.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["template_id"] = s.Template.id.ToString("N"),
        };
        if (withSpend) info[Spend12MonthsField] = TradeFields.Yuan(s.Spend12MonthsFen);
        return info;
    }

    public static GatewayResult TemplateNotExist() => GatewayResult.Business(GatewaySubCodes.TemplateNotExist, "会员卡模板不存在");
}

/// <summary>
/// <c>alipay.marketing.card.template.create</c>: a member programme of the calling merchant. Idempotent per request_id
/// (the same request again answers the same template_id; another programme under it is <c>ACQ.CONTEXT_INCONSISTENT</c>).
/// </summary>
internal sealed class CardTemplateCreate(Memberships memberships) : IGatewayMethod
{
    public string Name => "alipay.marketing.card.template.create";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        var b = c.Biz;
        if (b.Require("request_id", CardFields.RequestIdLengthMax, out var requestId) is { } e1) return e1;
        if (b.Require("card_type", CardFields.CardTypeLengthMax, out var cardType) is { } e2) return e2;
        if (!b.TryGetProperty("template_style_info", out var style) || style.ValueKind != JsonValueKind.Object)
            return GatewayResult.MissingParameter("template_style_info");
        if (style.Require("card_show_name", CardFields.ShowNameLengthMax, out var showName) is { } e3) return e3;
        if (!b.TryGetProperty("card_level_conf", out var conf) || conf.ValueKind != JsonValueKind.Array || conf.GetArrayLength() == 0)
            return GatewayResult.MissingParameter("card_level_conf");
        if (conf.GetArrayLength() > CardFields.LevelsMax) return GatewayResult.InvalidParameter($"参数 card_level_conf 最多 {CardFields.LevelsMax} 个等级");
        var levels = new List<MembershipLevel>();
        foreach (var item in conf.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) return GatewayResult.InvalidParameter("参数 card_level_conf 不合法");
            if (item.Require("level", CardFields.LevelLengthMax, out var level) is { } e4) return e4;
            if (item.Require("level_show_name", CardFields.ShowNameLengthMax, out var levelName) is { } e5) return e5;
            if (item.Optional("level_desc", CardFields.LevelDescLengthMax, out var levelDesc) is { } e6) return e6;
            if (levels.Any(l => l.Level == level)) return GatewayResult.InvalidParameter($"参数 card_level_conf 等级 {level} 重复");
            if (ParseRule(item, levels.Count == 0, out var minSpend, out var multiplier) is { } e7) return e7;
            if (levels.Count > 0 && minSpend <= levels[^1].MinSpend12MonthsFen)
                return GatewayResult.InvalidParameter($"参数 {CardFields.LevelRuleField}.min_spend_12m 必须逐级递增");
            levels.Add(new MembershipLevel(level, levelName, levelDesc ?? "", minSpend, multiplier));
        }
        var (outcome, templateId) = await memberships.CreateTemplateAsync(c.App.merchant_id, requestId, cardType, showName, levels, ct);
        return outcome == TemplateOutcome.RequestIdReused
            ? GatewayResult.Business(GatewaySubCodes.ContextInconsistent, "request_id 已用于不同的会员卡模板")
            : GatewayResult.Success(Field.Of("template_id", templateId.ToString("N")));
    }

    private static GatewayResult? ParseRule(JsonElement item, bool first, out long minSpend, out int multiplier)
    {
        minSpend = 0;
        multiplier = CardFields.MultiplierBpsMin;
        var bad = GatewayResult.InvalidParameter($"参数 {CardFields.LevelRuleField} 不合法: {{\"min_spend_12m\":\"元\",\"points_multiplier_bps\":10000..100000}}, 首级门槛为 0");
        if (!item.TryGetProperty(CardFields.LevelRuleField, out var rule))
            return first ? null : GatewayResult.MissingParameter(CardFields.LevelRuleField);
        if (rule.ValueKind != JsonValueKind.Object) return bad;
        var spendText = rule.String("min_spend_12m");
        if (spendText is null or "0" or "0.00" or "0.0") minSpend = 0;
        else if (!AlipayAmount.TryParseYuan(spendText, out minSpend)) return bad;
        if (first != (minSpend == 0)) return bad;
        if (rule.String("points_multiplier_bps") is { } m
            && (!int.TryParse(m, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out multiplier)
                || multiplier is < CardFields.MultiplierBpsMin or > CardFields.MultiplierBpsMax))
            return bad;
        return null;
    }
}

/// <summary>
/// <c>alipay.marketing.card.open</c>: opens the user's card of the merchant's programme (<c>card_user_info.user_uni_id</c> is
/// the Qianbao user id, <c>user_uni_id_type</c> UID) → <c>card_info.biz_card_no</c>. A user holds one card per programme:
/// opening again answers the same card.
/// </summary>
internal sealed class CardOpen(Memberships memberships, UserDirectory users) : IGatewayMethod
{
    public string Name => "alipay.marketing.card.open";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        var b = c.Biz;
        if (b.Require("card_template_id", 32, out var templateText) is { } e1) return e1;
        if (b.Require("out_serial_no", CardFields.OutSerialNoLengthMax, out var outSerialNo) is { } e2) return e2;
        if (!b.TryGetProperty("card_user_info", out var user) || user.ValueKind != JsonValueKind.Object) return GatewayResult.MissingParameter("card_user_info");
        if (user.Require("user_uni_id", 36, out var userText) is { } e3) return e3;
        if (user.String("user_uni_id_type") is { } type && type != "UID") return GatewayResult.InvalidParameter("参数 user_uni_id_type 仅支持 UID");
        if (!Guid.TryParseExact(templateText, "N", out var templateId) || await memberships.FindTemplateAsync(templateId, ct) is not { } template
            || template.merchant_id != c.App.merchant_id)
            return CardFields.TemplateNotExist();
        if (!Guid.TryParse(userText, out var userId) || !await users.ExistsAsync(userId, ct))
            return GatewayResult.Business(GatewaySubCodes.UserNotExist, "用户不存在");
        var card = await memberships.OpenAsync(template, userId, outSerialNo, ct);
        var standing = await memberships.StandingAsync(card, template, ct);
        return GatewayResult.Success(Field.Of("card_info", CardFields.CardInfo(standing, withSpend: false)));
    }
}

/// <summary>
/// <c>alipay.marketing.card.query</c> (<c>target_card_no</c>, <c>target_card_no_type</c> BIZ_CARD): the member's level now,
/// points earned at this merchant, and 12-month spend there (in the extension field <c>qianbao_spend_12m</c>).
/// </summary>
internal sealed class CardQuery(Memberships memberships) : IGatewayMethod
{
    public string Name => "alipay.marketing.card.query";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        var b = c.Biz;
        if (b.Require("target_card_no", 32, out var cardNo) is { } e1) return e1;
        if (b.String("target_card_no_type") is { } type && type != "BIZ_CARD") return GatewayResult.InvalidParameter("参数 target_card_no_type 仅支持 BIZ_CARD");
        if (await memberships.FindCardAsync(cardNo, ct) is not { } card || card.merchant_id != c.App.merchant_id
            || await memberships.FindTemplateAsync(card.template_id, ct) is not { } template)
            return GatewayResult.Business(GatewaySubCodes.CardNotExist, "会员卡不存在");
        var standing = await memberships.StandingAsync(card, template, ct);
        return GatewayResult.Success(Field.Of("card_info", CardFields.CardInfo(standing, withSpend: true)));
    }
}
