using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Merchants.Accounts;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Analytics;

internal enum Granularity { Day, Hour }

/// <summary>One demographic bucket as answered: <c>{key, payers, share}</c> (share of the range's unique payers, 4 decimals).</summary>
internal sealed record DemographicBucket(string Key, long Payers, decimal Share);

/// <summary>
/// A merchant's analytics for a range of China days, read from the rollups only (never the trade tables): totals, the series, the
/// weekday × hour heatmap, payers (unique, new, returning, repeat rate), k-anonymous demographics and campaigns.
/// </summary>
internal sealed class MerchantAnalytics(Db db, AnalyticsOptions options)
{
    public async Task<object> ReadAsync(Guid merchantId, DayRange range, Granularity granularity, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var p = new { merchantId, h0 = range.FirstHour, h1 = range.EndHour, d0 = range.FromDay, d1 = range.ToDay };
        var hours = (await connection.QueryAsync<(long Hour, long Gmv, long Orders, long Refunds, long RefundMinor)>(new CommandDefinition("""
            SELECT hour_no, gmv_minor, orders, refunds, refund_minor FROM analytics_merchant_hours
            WHERE merchant_id = @merchantId AND hour_no >= @h0 AND hour_no < @h1 ORDER BY hour_no
            """, p, cancellationToken: ct))).AsList();
        // One row per combination of buckets and payer class: the payers are grouped in the database, however many there are.
        var payers = (await connection.QueryAsync<(long Gender, long AgeBand, long Province, long IsNew, long IsRepeat, long Payers)>(new CommandDefinition("""
            SELECT gender, age_band, province, is_new, is_repeat, COUNT(*) AS payers FROM (
                SELECT d.payer_id, MAX(d.gender) AS gender, MAX(d.age_band) AS age_band, MAX(d.province) AS province,
                       CASE WHEN MIN(m.first_day) >= @d0 THEN 1 ELSE 0 END AS is_new, CASE WHEN SUM(d.orders) >= 2 THEN 1 ELSE 0 END AS is_repeat
                FROM analytics_payer_days d JOIN analytics_merchant_payers m ON m.merchant_id = d.merchant_id AND m.payer_id = d.payer_id
                WHERE d.merchant_id = @merchantId AND d.day >= @d0 AND d.day <= @d1
                GROUP BY d.payer_id
            ) x GROUP BY gender, age_band, province, is_new, is_repeat
            """, p, cancellationToken: ct))).AsList();
        var campaigns = (await connection.QueryAsync<(Guid CampaignId, long Orders, long Discount, long Gmv)>(new CommandDefinition("""
            SELECT campaign_id, SUM(orders), SUM(discount_minor), SUM(gmv_minor) FROM analytics_campaign_hours
            WHERE merchant_id = @merchantId AND hour_no >= @h0 AND hour_no < @h1 GROUP BY campaign_id ORDER BY campaign_id
            """, p, cancellationToken: ct))).AsList();

        long gmv = hours.Sum(h => h.Gmv), orders = hours.Sum(h => h.Orders), refunds = hours.Sum(h => h.Refunds), refundAmount = hours.Sum(h => h.RefundMinor);
        long unique = payers.Sum(x => x.Payers), fresh = payers.Where(x => x.IsNew == 1).Sum(x => x.Payers);
        long repeat = payers.Where(x => x.IsRepeat == 1).Sum(x => x.Payers);
        var k = options.KMin;
        return new
        {
            from = ChinaCalendar.DayText(range.FromDay), to = ChinaCalendar.DayText(range.ToDay),
            granularity = granularity == Granularity.Hour ? "hour" : "day",
            gmv, orders, refunds, refund_amount = refundAmount, net = gmv - refundAmount, aov = orders == 0 ? 0 : gmv / orders,
            unique_payers = unique, new_payers = fresh, returning_payers = unique - fresh, repeat_rate = Ratio(repeat, unique),
            series = Series(hours, range, granularity),
            heatmap = Heatmap(hours),
            demographics = new
            {
                gender = KAnonymous(payers.GroupBy(x => Buckets.GenderKey((short)x.Gender)).Select(g => (g.Key, g.Sum(x => x.Payers))), unique, k),
                age_band = KAnonymous(payers.GroupBy(x => Buckets.AgeBandKey((short)x.AgeBand)).Select(g => (g.Key, g.Sum(x => x.Payers))), unique, k),
                province = KAnonymous(payers.GroupBy(x => Buckets.ProvinceKey((short)x.Province)).Select(g => (g.Key, g.Sum(x => x.Payers))), unique, k),
            },
            campaigns = campaigns.Select(c => new { campaign_id = c.CampaignId, orders = c.Orders, discount = c.Discount, gmv = c.Gmv }),
        };
    }

    /// <summary>
    /// k-anonymity: a bucket of fewer than <paramref name="k"/> distinct payers joins <c>other</c>; <c>other</c> is shown only when it
    /// reaches k itself. Buckets are listed by payers, most first, then by key; <c>other</c> last.
    /// </summary>
    public static IReadOnlyList<DemographicBucket> KAnonymous(IEnumerable<(string Key, long Payers)> buckets, long uniquePayers, int k)
    {
        var shown = new List<DemographicBucket>();
        long other = 0;
        foreach (var (key, count) in buckets)
        {
            if (count >= k) shown.Add(new DemographicBucket(key, count, Ratio(count, uniquePayers)));
            else other += count;
        }
        shown.Sort((a, b) => a.Payers != b.Payers ? b.Payers.CompareTo(a.Payers) : string.CompareOrdinal(a.Key, b.Key));
        if (other >= k) shown.Add(new DemographicBucket("other", other, Ratio(other, uniquePayers)));
        return shown;
    }

    public static decimal Ratio(long part, long whole) => whole == 0 ? 0m : Math.Round((decimal)part / whole, 4, MidpointRounding.ToEven);

    private static IEnumerable<object> Series(List<(long Hour, long Gmv, long Orders, long Refunds, long RefundMinor)> hours, DayRange range, Granularity granularity)
    {
        if (granularity == Granularity.Hour)
        {
            var byHour = hours.ToDictionary(h => h.Hour);
            for (var h = range.FirstHour; h < range.EndHour; h++)
            {
                var found = byHour.TryGetValue(h, out var row);
                yield return new { t = ChinaCalendar.HourText(h), gmv = found ? row.Gmv : 0, orders = found ? row.Orders : 0 };
            }
            yield break;
        }
        var byDay = hours.GroupBy(h => ChinaCalendar.DayOfHour(h.Hour)).ToDictionary(g => g.Key, g => (Gmv: g.Sum(h => h.Gmv), Orders: g.Sum(h => h.Orders)));
        for (var d = range.FromDay; d <= range.ToDay; d++)
        {
            var found = byDay.TryGetValue(d, out var row);
            yield return new { t = ChinaCalendar.DayText(d), gmv = found ? row.Gmv : 0, orders = found ? row.Orders : 0 };
        }
    }

    /// <summary>Orders by China weekday (1 Monday … 7 Sunday) and hour (0..23): all 168 cells, Monday 00 first.</summary>
    private static IEnumerable<object> Heatmap(List<(long Hour, long Gmv, long Orders, long Refunds, long RefundMinor)> hours)
    {
        var cells = new long[7, 24];
        foreach (var h in hours) cells[ChinaCalendar.Weekday(ChinaCalendar.DayOfHour(h.Hour)) - 1, ChinaCalendar.HourOfDay(h.Hour)] += h.Orders;
        for (var w = 0; w < 7; w++)
            for (var hour = 0; hour < 24; hour++)
                yield return new { weekday = w + 1, hour, orders = cells[w, hour] };
    }
}

/// <summary>
/// <c>GET …/analytics?from=YYYY-MM-DD&amp;to=YYYY-MM-DD&amp;granularity=day|hour</c> for one merchant: the merchant's own
/// <c>GET /merchant/v1/analytics</c> (its staff, any role: analysts are who it is for) and operators'
/// <c>GET /admin/v1/merchants/{id}/analytics</c>. Bad dates 400 <c>invalid_date</c>, a reversed or too long range
/// 400 <c>invalid_date_range</c> (366 days; hourly 31), another granularity 400 <c>invalid_granularity</c>.
/// </summary>
internal static class GetMerchantAnalytics
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/v1/merchants/{id}/analytics", OperatorAsync)
            .RequireOperator(OperatorRole.Finance, OperatorRole.Support).WithTags("Operator");
        app.MapGet("/merchant/v1/analytics", (HttpContext http, MerchantAnalytics analytics, CancellationToken ct) =>
                AnswerAsync(http.Merchant().MerchantId, http, analytics, ct))
            .RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");
    }

    private static async Task<IResult> OperatorAsync(string id, HttpContext http, Merchants.MerchantDirectory merchants, MerchantAnalytics analytics,
        CancellationToken ct)
    {
        if (Validate(http.Request, out var range, out var granularity) is { } refusal) return refusal;
        if (!Guid.TryParse(id, out var merchantId) || !await merchants.ExistsAsync(merchantId, ct)) return ApiProblem.NotFound();
        return Results.Json(await analytics.ReadAsync(merchantId, range, granularity, ct), JsonDefaults.Options);
    }

    /// <summary>The answer for <paramref name="merchantId"/> (already known to exist and to be the caller's).</summary>
    public static async Task<IResult> AnswerAsync(Guid merchantId, HttpContext http, MerchantAnalytics analytics, CancellationToken ct)
    {
        if (Validate(http.Request, out var range, out var granularity) is { } refusal) return refusal;
        return Results.Json(await analytics.ReadAsync(merchantId, range, granularity, ct), JsonDefaults.Options);
    }

    private static IResult? Validate(HttpRequest request, out DayRange range, out Granularity granularity)
    {
        granularity = Granularity.Day;
        if (DayRange.TryRead(request, out range) is { } refusal) return refusal;
        switch (request.Query["granularity"].ToString())
        {
            case "" or "day": break;
            case "hour":
                granularity = Granularity.Hour;
                if (range.Days > DayRange.HourlyDaysMax)
                    return ApiProblem.BadRequest(ErrorCodes.InvalidDateRange, $"An hourly series covers at most {DayRange.HourlyDaysMax} days.");
                break;
            default:
                return ApiProblem.BadRequest(ErrorCodes.InvalidGranularity, "granularity must be day or hour.");
        }
        return null;
    }
}
