using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Points;

namespace Qianbao.Server.Tests.Analytics;

/// <summary>
/// Real payments, a coupon and a refund through the gateway and the wallet; then every figure of the merchant analytics and the
/// KPIs that raw data decides is recomputed from the trades, refunds, coupon redemptions and users (test SQL) and compared.
/// </summary>
public abstract class RawRecomputationTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : AnalyticsServer
{
    protected TServer Server { get; } = server;

    private sealed record PaidRow(string trade_no, Guid merchant_id, Guid buyer_id, long total_amount, long paid_at_us);

    private static DateTimeOffset ChinaOf(long us) => TimeProviderExtensions.FromUnixMicroseconds(us).ToOffset(PointsServer.China);

    [Fact]
    public async Task Every_figure_matches_a_recomputation_from_raw_data()
    {
        var app = await Server.CreateMerchantWithAppAsync(60);
        var other = await Server.CreateMerchantWithAppAsync(60);
        var now = Server.Clock.GetUtcNow();
        using (var created = await Server.OperatorSendAsync(HttpMethod.Post, "/admin/v1/campaigns", new Dictionary<string, object?>
        {
            ["name"] = "分析券", ["kind"] = "coupon", ["funding"] = new { source = "platform" }, ["budget"] = new { amount = 10_000, currency = "CNY" },
            ["starts_at"] = (now - TimeSpan.FromMinutes(5)).ToString("O"), ["ends_at"] = (now + TimeSpan.FromDays(30)).ToString("O"),
            ["merchant_ids"] = new[] { app.MerchantId }, ["coupon"] = new { type = "fixed", amount = 300, stock = 5, valid_days = 7 },
        }, Guid.NewGuid().ToString()))
        {
            var body = await created.Content.ReadAsStringAsync();
            created.StatusCode.ShouldBe(HttpStatusCode.Created, body);
            var campaign = JsonNode.Parse(body)!["id"]!.GetValue<Guid>();
            var buyers = new List<WalletClient>();
            for (var i = 0; i < 6; i++) buyers.Add(await Server.BuyerAsync(100_000));
            // Two people verify their identity (they pay nothing, so the merchant's demographics stay as below).
            await Server.VerifiedUserAsync(male: true, new DateOnly(1990, 5, 1), 11);
            await Server.VerifiedUserAsync(male: false, new DateOnly(1985, 3, 2), 44);
            (await buyers[0].PostAsync("/v1/coupons", new { campaign_id = campaign })).StatusCode.ShouldBe(HttpStatusCode.Created);
            await Server.PayAsync(app, buyers[0], "20.00");
            await Server.PayAsync(app, buyers[0], "5.55");
            var (_, refunded) = await Server.PayAsync(app, buyers[1], "12.34");
            await Server.PayAsync(app, buyers[1], "12.34");
            for (var i = 2; i < 6; i++) await Server.PayAsync(app, buyers[i], (i - 1).ToString(CultureInfo.InvariantCulture) + ".00");
            await Server.PayAsync(other, buyers[2], "8.88");
            await Server.RefundAsync(app, refunded, "2.00");
        }

        var today = DateOnly.FromDateTime(now.ToOffset(PointsServer.China).DateTime);
        var (from, to) = (today.AddDays(-1), today.AddDays(1));
        var startUs = new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), PointsServer.China).ToUnixMicroseconds();
        var endUs = new DateTimeOffset(to.AddDays(1).ToDateTime(TimeOnly.MinValue), PointsServer.China).ToUnixMicroseconds();
        var range = $"from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}";

        await using var connection = await Server.Db.OpenAsync();
        var paid = (await connection.QueryAsync<PaidRow>("""
            SELECT trade_no, merchant_id, buyer_id, total_amount, paid_at_us FROM trades
            WHERE paid_at_us IS NOT NULL AND paid_at_us >= @startUs AND paid_at_us < @endUs AND currency = 'CNY'
            """, new { startUs, endUs })).AsList();
        var refunds = (await connection.QueryAsync<(Guid Merchant, long Amount)>("""
            SELECT t.merchant_id, r.refund_amount FROM trade_refunds r JOIN trades t ON t.trade_no = r.trade_no
            WHERE r.created_at_us >= @startUs AND r.created_at_us < @endUs
            """, new { startUs, endUs })).AsList();
        var coupons = (await connection.QueryAsync<(Guid Campaign, long Orders, long Discount, long Gmv)>("""
            SELECT r.campaign_id, COUNT(*), SUM(r.discount_amount), SUM(t.total_amount) FROM coupon_redemptions r JOIN trades t ON t.trade_no = r.trade_no
            WHERE t.merchant_id = @m GROUP BY r.campaign_id
            """, new { m = Server.Db.Engine == Storage.DatabaseEngine.Sqlite ? (object)app.MerchantId.ToString() : app.MerchantId })).AsList();
        var registrations = await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users WHERE created_at_us >= @startUs AND created_at_us < @endUs",
            new { startUs, endUs });
        var verified = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(DISTINCT user_id) FROM security_events WHERE kind = 'identity_verified' AND created_at_us >= @startUs AND created_at_us < @endUs",
            new { startUs, endUs });
        verified.ShouldBe(2);
        paid.Count(p => p.merchant_id == app.MerchantId).ShouldBe(8);
        coupons.Count.ShouldBe(1);

        var mine = paid.Where(p => p.merchant_id == app.MerchantId).ToList();
        var myRefunds = refunds.Where(r => r.Merchant == app.MerchantId).ToList();
        JsonObject a = null!;
        await Poll.UntilAsync(async () =>
        {
            a = await Server.GetOkAsync($"/admin/v1/merchants/{app.MerchantId}/analytics?{range}");
            return a["orders"]!.GetValue<long>() == mine.Count && a["refunds"]!.GetValue<long>() == myRefunds.Count;
        }, "analytics to catch up with the payments");

        long gmv = mine.Sum(p => p.total_amount), refundAmount = myRefunds.Sum(r => r.Amount);
        a["gmv"]!.GetValue<long>().ShouldBe(gmv);
        a["refund_amount"]!.GetValue<long>().ShouldBe(refundAmount);
        a["net"]!.GetValue<long>().ShouldBe(gmv - refundAmount);
        a["aov"]!.GetValue<long>().ShouldBe(gmv / mine.Count);
        var perPayer = mine.GroupBy(p => p.buyer_id).ToList();
        a["unique_payers"]!.GetValue<long>().ShouldBe(perPayer.Count);
        // No buyer paid this merchant before the range: all are new.
        a["new_payers"]!.GetValue<long>().ShouldBe(perPayer.Count);
        a["returning_payers"]!.GetValue<long>().ShouldBe(0);
        a["repeat_rate"]!.GetValue<decimal>().ShouldBe(Math.Round((decimal)perPayer.Count(g => g.Count() >= 2) / perPayer.Count, 4));
        var series = a["series"]!.AsArray().ToDictionary(s => s!["t"]!.GetValue<string>(), s => (s!["gmv"]!.GetValue<long>(), s["orders"]!.GetValue<long>()));
        series.Count.ShouldBe(3);
        foreach (var (day, figures) in series)
        {
            var that = mine.Where(p => ChinaOf(p.paid_at_us).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) == day).ToList();
            figures.ShouldBe((that.Sum(p => p.total_amount), (long)that.Count), day);
        }
        foreach (var cell in a["heatmap"]!.AsArray())
        {
            int weekday = cell!["weekday"]!.GetValue<int>(), hour = cell["hour"]!.GetValue<int>();
            var expected = mine.Count(p => ChinaOf(p.paid_at_us) is var t && ((int)t.DayOfWeek + 6) % 7 + 1 == weekday && t.Hour == hour);
            cell["orders"]!.GetValue<long>().ShouldBe(expected, $"weekday {weekday} hour {hour}");
        }
        // Nobody verified an identity: all six payers are unknown, a bucket of at least k.
        foreach (var name in new[] { "gender", "age_band", "province" })
        {
            var buckets = a["demographics"]![name]!.AsArray();
            buckets.Count.ShouldBe(1);
            buckets[0]!["key"]!.GetValue<string>().ShouldBe("unknown");
            buckets[0]!["payers"]!.GetValue<long>().ShouldBe(perPayer.Count);
        }
        var campaigns = a["campaigns"]!.AsArray();
        campaigns.Select(c => (c!["campaign_id"]!.GetValue<Guid>(), c["orders"]!.GetValue<long>(), c["discount"]!.GetValue<long>(), c["gmv"]!.GetValue<long>()))
            .ShouldBe(coupons.Select(c => (c.Campaign, c.Orders, c.Discount, c.Gmv)));

        JsonObject k = null!;
        await Poll.UntilAsync(async () =>
        {
            k = await Server.GetOkAsync($"/admin/v1/analytics/kpis?{range}");
            var types = k["transactions"]!.AsArray().ToDictionary(t => t!["type"]!.GetValue<string>(), t => t!["count"]!.GetValue<long>());
            return types["payment"] == paid.Count && types["refund"] == refunds.Count && k["registrations"]!.GetValue<long>() == registrations
                && k["verified_users"]!.GetValue<long>() == verified;
        }, "KPIs to catch up with the payments");
        var volumes = k["transactions"]!.AsArray().ToDictionary(t => t!["type"]!.GetValue<string>(), t => t!["volume"]!.GetValue<long>());
        volumes["payment"].ShouldBe(paid.Sum(p => p.total_amount));
        volumes["refund"].ShouldBe(refunds.Sum(r => r.Amount));
        k["gmv"]!.GetValue<long>().ShouldBe(paid.Sum(p => p.total_amount));
        k["active_merchants"]!.GetValue<long>().ShouldBe(paid.Select(p => p.merchant_id).Distinct().Count());
        k["top_merchants"]!.AsArray().Select(t => (t!["merchant_id"]!.GetValue<Guid>(), t["gmv"]!.GetValue<long>(), t["orders"]!.GetValue<long>()))
            .ShouldBe(paid.GroupBy(p => p.merchant_id).Select(g => (g.Key, g.Sum(p => p.total_amount), (long)g.Count()))
                .OrderByDescending(t => t.Item2).ThenBy(t => t.Key.ToString()).Take(10));
        var kc = k["campaigns"]!.AsArray().Single()!;
        kc["discount"]!.GetValue<long>().ShouldBe(coupons.Single().Discount);
        kc["roi"]!.GetValue<decimal>().ShouldBe(Math.Round((decimal)coupons.Single().Gmv / coupons.Single().Discount, 4));
        // Each buyer paid today: at least every payer is a monthly active user.
        k["mau"]!.GetValue<long>().ShouldBeGreaterThanOrEqualTo(paid.Select(p => p.buyer_id).Distinct().Count());

        // Messaging: the KPIs carry Notifications' own figures (those of GET /admin/v1/messaging/kpis for the same instants), and
        // what was sent adds up to the notification deliveries in the range, recounted from the raw rows. The transaction
        // notifications of the payments are written by a subscriber, so both are read again until they agree.
        var window = "from=" + Uri.EscapeDataString(TimeProviderExtensions.FromUnixMicroseconds(startUs).ToString("O"))
            + "&to=" + Uri.EscapeDataString(TimeProviderExtensions.FromUnixMicroseconds(endUs).ToString("O"));
        var last = "";
        await Poll.UntilAsync(async () =>
        {
            var raw = (await connection.QueryAsync<(int Category, int Channel, long Sent)>(
                "SELECT n.category, d.channel, COUNT(*) FROM notifications n JOIN notification_deliveries d ON d.notification_id = n.id " +
                "WHERE n.created_at_us >= @startUs AND n.created_at_us < @endUs AND d.decision IN (0, 1) GROUP BY n.category, d.channel",
                new { startUs, endUs })).AsList();
            var inKpis = (await Server.GetOkAsync($"/admin/v1/analytics/kpis?{range}"))["messaging"]!.AsArray();
            var own = (await Server.GetOkAsync($"/admin/v1/messaging/kpis?{window}"))["items"]!.AsArray();
            last = $"raw {string.Join(",", raw)}; kpis {inKpis.ToJsonString()}; messaging {own.ToJsonString()}";
            // Until every payment's in-app notification is written too: the figures agree at every step while the subscriber
            // is still writing them (it passed once with 6 of 9, and its wake-up after a nudge can now wait 100 ms).
            var transactionInApp = raw.Where(r => r.Category == (int)NotificationCategory.Transaction && r.Channel == (int)NotificationChannel.InApp).Sum(r => r.Sent);
            return transactionInApp >= paid.Count && inKpis.Count == raw.Count && inKpis.Sum(i => i!["sent"]!.GetValue<long>()) == raw.Sum(r => r.Sent)
                && inKpis.ToJsonString() == own.ToJsonString();
        }, "the KPIs' messaging section to match Notifications' figures and the raw deliveries");
        var item = (await Server.GetOkAsync($"/admin/v1/analytics/kpis?{range}"))["messaging"]!.AsArray()
            .Single(i => i!["category"]!.GetValue<string>() == "transaction" && i["channel"]!.GetValue<string>() == "in_app")!;
        item["sent"]!.GetValue<long>().ShouldBeGreaterThanOrEqualTo(paid.Count, last);
        foreach (var name in new[] { "delivery_rate", "open_rate", "click_rate", "opt_out_rate", "spam_rate" }) item[name].ShouldNotBeNull(name);
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteRawRecomputationTests(SqliteAnalyticsServer server) : RawRecomputationTests<SqliteAnalyticsServer>(server);

public sealed class PostgresRawRecomputationTests(PostgresAnalyticsServer server) : RawRecomputationTests<PostgresAnalyticsServer>(server);
