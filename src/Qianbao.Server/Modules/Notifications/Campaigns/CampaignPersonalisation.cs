using System.Collections.Frozen;
using System.Globalization;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Modules.Recommendations;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>
/// A campaign variant's <c>title</c>, <c>body</c> and <c>email_subject</c> are Liquid (Fluid, as the notification templates)
/// and may use the recipient's data: <c>name</c> (masked, as Identity shows a name), <c>points</c> (balance),
/// <c>coupon_name</c>, <c>coupon_amount</c>, <c>coupon_expires</c> (their available coupon that expires soonest, China time),
/// <c>recommended_merchant</c> and <c>recommendation_reason</c> (their top recommendation); a value the person lacks is
/// absent (renders empty, false in <c>{% if %}</c>).
/// Checked when the campaign is created (no other variable, valid Liquid); rendered per recipient. Each value is asked of
/// the module that owns it (UserDirectory, PointsBalances, Coupons, MerchantRecommendations), only when a text uses it.
/// </summary>
internal sealed class CampaignPersonalisation(Db db, UserDirectory users, PointsBalances points, Coupons coupons, MerchantRecommendations recommendations)
{
    public static readonly FrozenSet<string> Variables = new[]
    {
        "name", "points", "coupon_name", "coupon_amount", "coupon_expires", "recommended_merchant", "recommendation_reason",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly TimeSpan China = TimeSpan.FromHours(8);

    private static IEnumerable<(string Field, string? Text)> Texts(Variant v) => [("title", v.Title), ("body", v.Body), ("email_subject", v.EmailSubject)];

    /// <summary>The variables a variant's texts use (empty: the same text for everyone).</summary>
    public static IReadOnlySet<string> Used(Variant v) =>
        Texts(v).Where(t => t.Text is not null).SelectMany(t => NotificationTemplates.UsedVariables(t.Text!) ?? new HashSet<string>()).ToHashSet(StringComparer.Ordinal);

    /// <summary>Null when every text of every variant is Liquid using only <see cref="Variables"/>; else the 400 answer.</summary>
    public static IResult? Validate(IReadOnlyList<Variant> variants)
    {
        foreach (var v in variants)
            foreach (var (field, text) in Texts(v))
            {
                if (text is null) continue;
                var used = NotificationTemplates.UsedVariables(text, out var error);
                if (used is null) return ApiProblem.BadRequest(ErrorCodes.InvalidTemplate, $"variant {v.Key}: {field} is not valid Liquid: {error}");
                var unknown = used.Where(u => !Variables.Contains(u)).Order(StringComparer.Ordinal).ToList();
                if (unknown.Count > 0)
                    return ApiProblem.BadRequest(ErrorCodes.UnknownTemplateVariable,
                        $"variant {v.Key}: {field} uses {string.Join(", ", unknown)}; a campaign may use only {string.Join(", ", Variables.Order(StringComparer.Ordinal))}.");
            }
        return null;
    }

    /// <summary>The variant's texts with the same (empty) variables for everyone: what the set-based send writes.</summary>
    public static Variant RenderedForEveryone(Variant v) => v with
    {
        Title = NotificationTemplates.Fill(v.Title!, null), Body = NotificationTemplates.Fill(v.Body!, null),
        EmailSubject = v.EmailSubject is null ? null : NotificationTemplates.Fill(v.EmailSubject, null),
    };

    /// <summary>The variant's texts for one person (reads only the data the texts use).</summary>
    public async Task<Variant> RenderAsync(Variant v, IReadOnlySet<string> used, Guid userId, CancellationToken ct)
    {
        if (used.Count == 0) return RenderedForEveryone(v);
        var values = await ValuesAsync(userId, used, ct);
        return v with
        {
            Title = NotificationTemplates.Fill(v.Title!, values), Body = NotificationTemplates.Fill(v.Body!, values),
            EmailSubject = v.EmailSubject is null ? null : NotificationTemplates.Fill(v.EmailSubject, values),
        };
    }

    private async Task<Dictionary<string, string>> ValuesAsync(Guid userId, IReadOnlySet<string> used, CancellationToken ct)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (used.Contains("name"))
            values["name"] = (await users.MaskedNamesAsync([userId], ct)).GetValueOrDefault(userId) ?? "";
        if (used.Contains("points"))
            values["points"] = (await points.BalanceAsync(userId, ct)).ToString(CultureInfo.InvariantCulture);
        if (used.Contains("coupon_name") || used.Contains("coupon_amount") || used.Contains("coupon_expires"))
        {
            // Absent when there is none (renders empty and is false in {% if %}: an empty string would be true in Liquid).
            if (await coupons.SoonestExpiringAsync(userId, ct) is { } soonest)
            {
                values["coupon_name"] = soonest.Name;
                values["coupon_amount"] = Amount(soonest.Coupon);
                values["coupon_expires"] = Hosting.TimeProviderExtensions.FromUnixMicroseconds(soonest.Coupon.expires_at_us).ToOffset(China)
                    .ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
            }
        }
        if (used.Contains("recommended_merchant") || used.Contains("recommendation_reason"))
        {
            // The language the notification is written in (the notifier's choice: the person's notification locale, else their account's).
            string? locale;
            await using (var connection = await db.OpenAsync(ct))
                locale = (await NotificationSettings.ReadAsync(connection, null, userId, ct)).Locale;
            var english = NotificationTemplates.Supported(locale ?? (await users.ContactAsync(userId, ct))?.Locale) == "en";
            if (await recommendations.TopAsync(userId, english, ct) is { } top)
            {
                values["recommended_merchant"] = top.MerchantName;
                values["recommendation_reason"] = top.Reason;
            }
        }
        return values;
    }

    /// <summary>An amount coupon's amount in yuan (<c>¥5.00</c>); a percentage coupon's share off (<c>15%</c>).</summary>
    private static string Amount(CouponRow c) => c.Type != CouponType.Percent
        ? "¥" + (c.amount / 100m).ToString("0.00", CultureInfo.InvariantCulture)
        : (c.percent_bps / 100m).ToString("0.##", CultureInfo.InvariantCulture) + "%";
}
