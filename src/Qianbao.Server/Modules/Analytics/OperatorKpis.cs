using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Analytics;

/// <summary>
/// The platform's KPIs for a range of China days, from the rollups the events built: registrations, identities verified (users
/// whose <c>identity.verified</c> event fell in the range), DAU (average over the range's
/// days) and MAU (distinct active users in the 30 days ending <c>to</c>), transactions by type, GMV, weekly retention cohorts,
/// 30-day churn, new and active merchants, top merchants, campaign spend and ROI, and the messaging rates per category and channel
/// (asked of Notifications' <c>MessagingKpis</c>, the figures of <c>GET /admin/v1/messaging/kpis</c>).
/// </summary>
internal sealed class OperatorKpis(Db db, Notifications.Campaigns.MessagingKpis messaging)
{
    /// <summary>Merchants listed in <c>top_merchants</c>.</summary>
    public const int TopMerchantsMax = 10;

    /// <summary>Weeks after its first a retention cohort is followed (within the range).</summary>
    public const int RetentionWeeksMax = 12;

    public async Task<object> ReadAsync(DayRange range, CancellationToken ct)
    {
        int d0 = range.FromDay, d1 = range.ToDay;
        var p = new { d0, d1, h0 = range.FirstHour, h1 = range.EndHour, m0 = d1 - 29, c0 = d1 - 59, c1 = d1 - 30, top = TopMerchantsMax };
        await using var connection = await db.OpenAsync(ct);
        var kinds = (await connection.QueryAsync<(string Kind, long Count, long Volume)>(new CommandDefinition(
            "SELECT kind, SUM(count), SUM(volume_minor) FROM analytics_platform_days WHERE day >= @d0 AND day <= @d1 GROUP BY kind",
            p, cancellationToken: ct))).ToDictionary(r => r.Kind, r => (r.Count, r.Volume), StringComparer.Ordinal);
        var activeDays = await connection.QuerySingleAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM analytics_active_days WHERE day >= @d0 AND day <= @d1", p, cancellationToken: ct));
        var mau = await connection.QuerySingleAsync<long>(new CommandDefinition(
            "SELECT COUNT(DISTINCT user_id) FROM analytics_active_days WHERE day >= @m0 AND day <= @d1", p, cancellationToken: ct));
        var churnBase = await connection.QuerySingleAsync<long>(new CommandDefinition(
            "SELECT COUNT(DISTINCT user_id) FROM analytics_active_days WHERE day >= @c0 AND day <= @c1", p, cancellationToken: ct));
        var churned = await connection.QuerySingleAsync<long>(new CommandDefinition("""
            SELECT COUNT(DISTINCT a.user_id) FROM analytics_active_days a WHERE a.day >= @c0 AND a.day <= @c1
            AND NOT EXISTS (SELECT 1 FROM analytics_active_days b WHERE b.user_id = a.user_id AND b.day >= @m0 AND b.day <= @d1)
            """, p, cancellationToken: ct));
        var cohortSizes = (await connection.QueryAsync<(long Cohort, long Users)>(new CommandDefinition(
            "SELECT (registered_day - @d0) / 7 AS cohort, COUNT(*) FROM analytics_users WHERE registered_day >= @d0 AND registered_day <= @d1 GROUP BY (registered_day - @d0) / 7",
            p, cancellationToken: ct))).ToDictionary(r => r.Cohort, r => r.Users);
        var retained = (await connection.QueryAsync<(long Cohort, long Week, long Users)>(new CommandDefinition("""
            SELECT (u.registered_day - @d0) / 7 AS cohort, (a.day - @d0) / 7 AS week, COUNT(DISTINCT a.user_id)
            FROM analytics_users u JOIN analytics_active_days a ON a.user_id = u.user_id
            WHERE u.registered_day >= @d0 AND u.registered_day <= @d1 AND a.day >= u.registered_day AND a.day <= @d1
            GROUP BY (u.registered_day - @d0) / 7, (a.day - @d0) / 7
            """, p, cancellationToken: ct))).ToDictionary(r => (r.Cohort, r.Week), r => r.Users);
        var merchants = await connection.QuerySingleAsync<long>(new CommandDefinition(
            "SELECT COUNT(DISTINCT merchant_id) FROM analytics_merchant_hours WHERE hour_no >= @h0 AND hour_no < @h1 AND orders > 0", p, cancellationToken: ct));
        var top = (await connection.QueryAsync<(Guid MerchantId, long Gmv, long Orders)>(new CommandDefinition("""
            SELECT merchant_id, SUM(gmv_minor) AS gmv, SUM(orders) FROM analytics_merchant_hours WHERE hour_no >= @h0 AND hour_no < @h1
            GROUP BY merchant_id HAVING SUM(orders) > 0 ORDER BY gmv DESC, merchant_id LIMIT @top
            """, p, cancellationToken: ct))).AsList();
        var discounts = (await connection.QueryAsync<(Guid CampaignId, long Orders, long Discount, long Gmv)>(new CommandDefinition("""
            SELECT campaign_id, SUM(orders), SUM(discount_minor), SUM(gmv_minor) FROM analytics_campaign_hours
            WHERE hour_no >= @h0 AND hour_no < @h1 GROUP BY campaign_id
            """, p, cancellationToken: ct))).ToDictionary(r => r.CampaignId);
        var cashback = (await connection.QueryAsync<(Guid CampaignId, long Amount)>(new CommandDefinition(
            "SELECT campaign_id, SUM(amount_minor) FROM analytics_cashback_days WHERE day >= @d0 AND day <= @d1 GROUP BY campaign_id",
            p, cancellationToken: ct))).ToDictionary(r => r.CampaignId, r => r.Amount);
        var verified = await connection.QuerySingleAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM analytics_verified_users WHERE day >= @d0 AND day <= @d1", p, cancellationToken: ct));
        await connection.DisposeAsync();
        // Notifications computes its rates (the figures of GET /admin/v1/messaging/kpis) over the notifications created in the range's China days.
        var rates = await messaging.ReadAsync(ChinaCalendar.FirstHour(d0) * ChinaCalendar.HourUs, ChinaCalendar.FirstHour(d1 + 1) * ChinaCalendar.HourUs, ct);

        (long Count, long Volume) Kind(PlatformKind kind) => kinds.GetValueOrDefault(PlatformKinds.Name(kind));
        var weeks = (range.Days + 6) / 7;
        return new
        {
            from = ChinaCalendar.DayText(d0), to = ChinaCalendar.DayText(d1),
            registrations = Kind(PlatformKind.Registration).Count,
            verified_users = verified,
            dau = Math.Round((decimal)activeDays / range.Days, 2, MidpointRounding.ToEven),
            mau,
            transactions = Enum.GetValues<PlatformKind>().Where(k => k is not (PlatformKind.Registration or PlatformKind.MerchantVerified))
                .Select(k => new { type = PlatformKinds.Name(k), count = Kind(k).Count, volume = Kind(k).Volume }),
            gmv = Kind(PlatformKind.Payment).Volume,
            retention = Enumerable.Range(0, weeks).Where(c => cohortSizes.ContainsKey(c)).Select(c => new
            {
                week_start = ChinaCalendar.DayText(d0 + c * 7), users = cohortSizes[c],
                active = Enumerable.Range(c, Math.Min(weeks - c, RetentionWeeksMax)).Select(w => retained.GetValueOrDefault((c, w))),
            }),
            churn_30d = new { base_users = churnBase, churned, rate = MerchantAnalytics.Ratio(churned, churnBase) },
            new_merchants = Kind(PlatformKind.MerchantVerified).Count,
            active_merchants = merchants,
            top_merchants = top.Select(t => new { merchant_id = t.MerchantId, gmv = t.Gmv, orders = t.Orders }),
            campaigns = discounts.Keys.Union(cashback.Keys).Order().Select(id =>
            {
                var d = discounts.GetValueOrDefault(id);
                var spend = d.Discount + cashback.GetValueOrDefault(id);
                return new
                {
                    campaign_id = id, orders = d.Orders, discount = d.Discount, cashback = cashback.GetValueOrDefault(id), spend, gmv = d.Gmv,
                    roi = spend == 0 ? (decimal?)null : Math.Round((decimal)d.Gmv / spend, 4, MidpointRounding.ToEven),
                };
            }),
            messaging = rates,
        };
    }
}

/// <summary><c>GET /admin/v1/analytics/kpis?from=YYYY-MM-DD&amp;to=YYYY-MM-DD</c>: the platform KPIs (same date rules as the merchant analytics).</summary>
internal static class GetOperatorKpis
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/analytics/kpis", HandleAsync).RequireOperator(OperatorRole.Finance).WithTags("Operator");

    private static async Task<IResult> HandleAsync(HttpContext http, OperatorKpis kpis, CancellationToken ct)
    {
        if (DayRange.TryRead(http.Request, out var range) is { } refusal) return refusal;
        return Results.Json(await kpis.ReadAsync(range, ct), JsonDefaults.Options);
    }
}
