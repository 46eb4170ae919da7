using System.Net;
using System.Net.Http.Json;
using Qianbao.Server.Tests.Gateway.Sdk;
using System.Text.Json.Nodes;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Tests.Infrastructure;
using static Qianbao.Server.Tests.Analytics.AnalyticsServer;

namespace Qianbao.Server.Tests.Analytics;

/// <summary>
/// Merchant analytics from hand-built events with hand-computed figures (k = 5: buckets of 4 and 5 payers), exactly once under
/// redelivery, the date rules; on each engine.
/// </summary>
public abstract class MerchantAnalyticsTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : AnalyticsServer
{
    protected TServer Server { get; } = server;

    private static TradePaid Paid(Guid merchant, Guid buyer, long amount, long atUs) =>
        At(new TradePaid("T" + Guid.NewGuid().ToString("N"), "app", "o", merchant, buyer, amount, 0, "CNY"), atUs);

    /// <summary>
    /// Ten payers at one merchant in March 2025: five verified women born 1995 in Guangdong (44), four verified men born 2005 in
    /// Beijing (11), one payer without a verified identity. M1 paid once before, on 1 March.
    /// </summary>
    private async Task<(Guid Merchant, List<DomainEvent> Events)> FixtureAsync()
    {
        var merchant = await Server.CreateMerchantAsync(60);
        var women = new List<Guid>();
        for (var i = 0; i < 5; i++) women.Add((await Server.VerifiedUserAsync(male: false, new DateOnly(1995, 6, 1), 44)).UserId);
        var men = new List<Guid>();
        for (var i = 0; i < 4; i++) men.Add((await Server.VerifiedUserAsync(male: true, new DateOnly(2005, 1, 1), 11)).UserId);
        var stranger = Guid.NewGuid();
        var events = new List<DomainEvent> { Paid(merchant, men[0], 700, ChinaUs(2025, 3, 1, 12, 0)) };
        // Tuesday 11 March, 10:15 China: everyone pays ¥10.
        foreach (var payer in women.Concat(men).Append(stranger)) events.Add(Paid(merchant, payer, 1000, ChinaUs(2025, 3, 11, 10, 15)));
        // 21:30 the first woman pays ¥25 more.
        var big = Paid(merchant, women[0], 2500, ChinaUs(2025, 3, 11, 21, 30));
        events.Add(big);
        // Wednesday 12 March, 09:05: the women and three of the men pay ¥3 each; at 12:00 ¥10 of the big trade is refunded.
        foreach (var payer in women.Concat(men.Take(3))) events.Add(Paid(merchant, payer, 300, ChinaUs(2025, 3, 12, 9, 5)));
        events.Add(At(new TradeRefunded(big.TradeNo, "app", "R1", merchant, women[0], 1000, 1000, "CNY"), ChinaUs(2025, 3, 12, 12, 0)));
        return (merchant, events);
    }

    private static List<(string Key, long Payers, decimal Share)> Buckets(JsonObject answer, string name) =>
        answer["demographics"]![name]!.AsArray().Select(b => (b!["key"]!.GetValue<string>(), b["payers"]!.GetValue<long>(), b["share"]!.GetValue<decimal>())).ToList();

    [Fact]
    public async Task Figures_match_the_hand_computed_ones_and_buckets_below_k_fold_into_other()
    {
        var (merchant, events) = await FixtureAsync();
        await Server.DeliverAsync([.. events]);

        var a = await Server.GetOkAsync($"/admin/v1/merchants/{merchant}/analytics?from=2025-03-11&to=2025-03-12");
        // gmv 10 × 1000 + 2500 + 8 × 300 = 14900 over 19 orders; aov floor(14900 / 19) = 784.
        a["gmv"]!.GetValue<long>().ShouldBe(14_900);
        a["orders"]!.GetValue<long>().ShouldBe(19);
        a["refunds"]!.GetValue<long>().ShouldBe(1);
        a["refund_amount"]!.GetValue<long>().ShouldBe(1000);
        a["net"]!.GetValue<long>().ShouldBe(13_900);
        a["aov"]!.GetValue<long>().ShouldBe(784);
        a["unique_payers"]!.GetValue<long>().ShouldBe(10);
        a["new_payers"]!.GetValue<long>().ShouldBe(9);
        a["returning_payers"]!.GetValue<long>().ShouldBe(1);
        // Two or more orders in the range: the five women and three men.
        a["repeat_rate"]!.GetValue<decimal>().ShouldBe(0.8m);
        var series = a["series"]!.AsArray();
        series.Select(p => (p!["t"]!.GetValue<string>(), p["gmv"]!.GetValue<long>(), p["orders"]!.GetValue<long>()))
            .ShouldBe([("2025-03-11", 12_500L, 11L), ("2025-03-12", 2_400L, 8L)]);
        var heat = a["heatmap"]!.AsArray();
        heat.Count.ShouldBe(168);
        heat.Where(c => c!["orders"]!.GetValue<long>() > 0)
            .Select(c => (c!["weekday"]!.GetValue<int>(), c["hour"]!.GetValue<int>(), c["orders"]!.GetValue<long>()))
            .ShouldBe([(2, 10, 10L), (2, 21, 1L), (3, 9, 8L)]);
        // k = 5: five women are a bucket; four men (k − 1) and one unknown fold into other, which reaches 5.
        Buckets(a, "gender").ShouldBe([("female", 5L, 0.5m), ("other", 5L, 0.5m)]);
        Buckets(a, "age_band").ShouldBe([("25-34", 5L, 0.5m), ("other", 5L, 0.5m)]);
        Buckets(a, "province").ShouldBe([("44", 5L, 0.5m), ("other", 5L, 0.5m)]);
        a["campaigns"]!.AsArray().Count.ShouldBe(0);

        // Wednesday alone: eight payers, none new, none twice; the three men are an "other" below k and are left out.
        var wednesday = await Server.GetOkAsync($"/admin/v1/merchants/{merchant}/analytics?from=2025-03-12&to=2025-03-12");
        wednesday["unique_payers"]!.GetValue<long>().ShouldBe(8);
        wednesday["new_payers"]!.GetValue<long>().ShouldBe(0);
        wednesday["returning_payers"]!.GetValue<long>().ShouldBe(8);
        wednesday["repeat_rate"]!.GetValue<decimal>().ShouldBe(0m);
        wednesday["net"]!.GetValue<long>().ShouldBe(2400 - 1000);
        Buckets(wednesday, "gender").ShouldBe([("female", 5L, 0.625m)]);
        Buckets(wednesday, "age_band").ShouldBe([("25-34", 5L, 0.625m)]);

        // Hourly: 24 points of the Tuesday, China time.
        var hourly = await Server.GetOkAsync($"/admin/v1/merchants/{merchant}/analytics?from=2025-03-11&to=2025-03-11&granularity=hour");
        var points = hourly["series"]!.AsArray();
        points.Count.ShouldBe(24);
        points[10]!["t"]!.GetValue<string>().ShouldBe("2025-03-11T10:00:00+08:00");
        points[10]!["gmv"]!.GetValue<long>().ShouldBe(10_000);
        points[21]!["orders"]!.GetValue<long>().ShouldBe(1);
        points.Sum(p => p!["orders"]!.GetValue<long>()).ShouldBe(11);
    }

    [Fact]
    public async Task A_shop_s_own_staff_read_its_analytics_and_only_its_own()
    {
        // A self-service shop, approved; its analyst (read-only) signs in to the merchant API.
        var login = await MerchantAccounts.SignupAsync(Server.Http, GatewayServer.OperatorKey, relaxed: true);
        await MerchantAccounts.ApproveAsync(Server.Http, GatewayServer.OperatorKey, login.MerchantId);
        var admin = await MerchantAccounts.LoginAsync(Server.Http, login, DateTimeOffset.UtcNow);
        var analyst = await MerchantAccounts.LoginAsync(Server.Http, await MerchantAccounts.AddStaffAsync(Server.Http, admin, login.MerchantId, "analyst"));
        var other = await Server.CreateMerchantAsync(60);
        await Server.DeliverAsync(
            Paid(login.MerchantId, Guid.NewGuid(), 1234, ChinaUs(2025, 4, 2, 10, 0)),
            Paid(other, Guid.NewGuid(), 9999, ChinaUs(2025, 4, 2, 11, 0)));

        using var mine = await MerchantAccounts.SendAsync(Server.Http, HttpMethod.Get, "/merchant/v1/analytics?from=2025-04-01&to=2025-04-30", analyst);
        mine.StatusCode.ShouldBe(HttpStatusCode.OK, await mine.Content.ReadAsStringAsync());
        var answer = (await mine.Content.ReadFromJsonAsync<JsonObject>())!;
        answer["gmv"]!.GetValue<long>().ShouldBe(1234);
        answer["orders"]!.GetValue<long>().ShouldBe(1);
        using var bad = await MerchantAccounts.SendAsync(Server.Http, HttpMethod.Get, "/merchant/v1/analytics?from=2025-04-30&to=2025-04-01", analyst);
        await bad.ShouldBeProblemAsync(400, "invalid_date_range");
        (await Server.Http.GetAsync("/merchant/v1/analytics?from=2025-04-01&to=2025-04-30")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Five_men_make_a_bucket_of_their_own()
    {
        var merchant = await Server.CreateMerchantAsync(60);
        var events = new List<DomainEvent>();
        for (var i = 0; i < AnalyticsServer.K; i++)
        {
            var man = await Server.VerifiedUserAsync(male: true, new DateOnly(1960, 2, 29), 31);
            events.Add(Paid(merchant, man.UserId, 100, ChinaUs(2025, 4, 1, 8, 0)));
        }
        for (var i = 0; i < AnalyticsServer.K - 1; i++) events.Add(Paid(merchant, Guid.NewGuid(), 100, ChinaUs(2025, 4, 1, 8, 0)));
        await Server.DeliverAsync([.. events]);
        var a = await Server.GetOkAsync($"/admin/v1/merchants/{merchant}/analytics?from=2025-04-01&to=2025-04-01");
        a["unique_payers"]!.GetValue<long>().ShouldBe(9);
        // Five of k: shown; four unknown (k − 1) alone make an other below k: dropped.
        Buckets(a, "gender").ShouldBe([("male", 5L, 0.5556m)]);
        Buckets(a, "age_band").ShouldBe([("55+", 5L, 0.5556m)]);
        Buckets(a, "province").ShouldBe([("31", 5L, 0.5556m)]);
    }

    [Fact]
    public async Task A_redelivered_batch_counts_once()
    {
        var (merchant, events) = await FixtureAsync();
        await Server.DeliverAsync([.. events]);
        var first = (await Server.GetOkAsync($"/admin/v1/merchants/{merchant}/analytics?from=2025-03-01&to=2025-03-31")).ToJsonString();
        // As after a crash between the rollups' commit and the checkpoint: the whole batch again, then half of it again.
        await Server.DeliverAsync([.. events]);
        await Server.DeliverAsync([.. events.Take(events.Count / 2)]);
        (await Server.GetOkAsync($"/admin/v1/merchants/{merchant}/analytics?from=2025-03-01&to=2025-03-31")).ToJsonString().ShouldBe(first);
        var march = JsonNode.Parse(first)!;
        march["orders"]!.GetValue<long>().ShouldBe(20);
        march["gmv"]!.GetValue<long>().ShouldBe(15_600);
        // Over the whole month M1 is new too.
        march["new_payers"]!.GetValue<long>().ShouldBe(10);
    }

    [Theory]
    [InlineData("from=2025-03-01", "invalid_date")]
    [InlineData("from=2025-3-01&to=2025-03-02", "invalid_date")]
    [InlineData("from=2025-02-30&to=2025-03-02", "invalid_date")]
    [InlineData("from=yesterday&to=today", "invalid_date")]
    [InlineData("from=2025-03-02&to=2025-03-01", "invalid_date_range")]
    [InlineData("from=2024-01-01&to=2025-01-01", "invalid_date_range")]
    [InlineData("from=2025-01-01&to=2025-02-01&granularity=hour", "invalid_date_range")]
    [InlineData("from=2025-01-01&to=2025-01-02&granularity=week", "invalid_granularity")]
    public async Task Bad_dates_and_ranges_are_400_with_a_stable_code(string query, string code)
    {
        var merchant = await Server.CreateMerchantAsync(60);
        using var response = await Server.GetAsync($"/admin/v1/merchants/{merchant}/analytics?{query}");
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, body);
        JsonNode.Parse(body)!["code"]!.GetValue<string>().ShouldBe(code);
        using var kpis = await Server.GetAsync($"/admin/v1/analytics/kpis?{query.Replace("&granularity=hour", "").Replace("&granularity=week", "")}");
        if (!query.Contains("granularity")) kpis.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_longest_ranges_are_accepted_and_an_unknown_merchant_is_404()
    {
        var merchant = await Server.CreateMerchantAsync(60);
        (await Server.GetOkAsync($"/admin/v1/merchants/{merchant}/analytics?from=2024-01-01&to=2024-12-31"))["series"]!.AsArray().Count.ShouldBe(366);
        (await Server.GetOkAsync($"/admin/v1/merchants/{merchant}/analytics?from=2025-01-01&to=2025-01-31&granularity=hour"))["series"]!.AsArray().Count.ShouldBe(744);
        using var unknown = await Server.GetAsync($"/admin/v1/merchants/{Guid.NewGuid()}/analytics?from=2025-01-01&to=2025-01-02");
        unknown.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        using var garbage = await Server.GetAsync("/admin/v1/merchants/not-an-id/analytics?from=2025-01-01&to=2025-01-02");
        garbage.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}

public sealed class SqliteMerchantAnalyticsTests(SqliteAnalyticsServer server) : MerchantAnalyticsTests<SqliteAnalyticsServer>(server);

public sealed class PostgresMerchantAnalyticsTests(PostgresAnalyticsServer server) : MerchantAnalyticsTests<PostgresAnalyticsServer>(server);
