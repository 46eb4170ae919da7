using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Ledger;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Modules.Marketing;

/// <summary>
/// Campaigns funded in the ledger (platform or merchant), their stop and end returning the remainder exactly once, the
/// 400 catalogue of bad combinations, coupon claims under concurrency, idempotent replays, expiry and the candidates the
/// payment path will ask for. The ledger check passes after each.
/// </summary>
public abstract class CampaignTestBase(ClockedGatewayServer server)
{
    protected ClockedGatewayServer Server { get; } = server;

    private static readonly Guid PlatformExpense = ChartOfAccounts.MarketingExpense(Currency.Cny).Id.Value;

    protected async Task<HttpResponseMessage> OperatorAsync(HttpMethod method, string path, object? body = null, string? key = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new("Bearer", GatewayServer.OperatorKey);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (key is not null) request.Headers.Add("Idempotency-Key", key);
        return await Server.Http.SendAsync(request);
    }

    protected static async Task<JsonObject> JsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    protected string Time(TimeSpan fromNow) => (Server.Clock.GetUtcNow() + fromNow).ToString("yyyy-MM-ddTHH:mm:ss.fffZ");

    /// <summary>A coupon campaign body with sensible defaults; <paramref name="coupon"/> replaces the coupon object.</summary>
    protected Dictionary<string, object?> CouponCampaign(long budget = 10_000, object? coupon = null, object? funding = null, TimeSpan? ends = null,
        TimeSpan? starts = null, object? merchantIds = null) => new()
    {
        ["name"] = "新人立减",
        ["kind"] = "coupon",
        ["funding"] = funding ?? new { source = "platform" },
        ["budget"] = new { amount = budget, currency = "CNY" },
        ["starts_at"] = Time(starts ?? TimeSpan.FromMinutes(-5)),
        ["ends_at"] = Time(ends ?? TimeSpan.FromDays(60)),
        ["merchant_ids"] = merchantIds,
        ["coupon"] = coupon ?? new { type = "fixed", amount = 500, stock = 10, valid_days = 7 },
    };

    protected async Task<JsonObject> CreateAsync(object body, string? key = null) =>
        await JsonAsync(await OperatorAsync(HttpMethod.Post, "/admin/v1/campaigns", body, key ?? Guid.NewGuid().ToString()), HttpStatusCode.Created);

    protected async Task<JsonObject> GetAsync(Guid id) => await JsonAsync(await OperatorAsync(HttpMethod.Get, $"/admin/v1/campaigns/{id}"), HttpStatusCode.OK);

    protected async Task<JsonObject> StopAsync(Guid id) => await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/campaigns/{id}/stop"), HttpStatusCode.OK);

    protected Task<long> PlatformSpendAsync() =>
        Server.CountAsync("SELECT COALESCE(SUM(debits_posted - credits_posted), 0) FROM accounts WHERE id = @id", new { id = PlatformExpense });

    protected static void ShouldBalance(JsonObject campaign, long amount, long spent)
    {
        var budget = campaign["budget"]!;
        budget["amount"]!.GetValue<long>().ShouldBe(amount);
        budget["spent"]!.GetValue<long>().ShouldBe(spent);
        budget["remaining"]!.GetValue<long>().ShouldBe(amount - spent);
    }

    /// <summary>Spends from a campaign's budget as a payment's discount leg will (the payment path is not built yet).</summary>
    protected async Task SpendAsync(Guid campaignId, WalletClient to, long amount)
    {
        var pipeline = Server.Services.GetRequiredService<MoneyPipeline>();
        var spend = new Transfer(new TransferId(Guid.NewGuid()), ChartOfAccounts.CampaignBudget(campaignId, Currency.Cny).Id,
            ChartOfAccounts.UserWallet(to.UserId, Currency.Cny).Id, amount, Currency.Cny, TransferCodes.MerchantPayment);
        (await pipeline.SubmitAsync(new LedgerCommand([spend]), CancellationToken.None)).Kind.ShouldBe(MoneyOutcomeKind.Applied);
    }

    protected async Task<Guid> FundedMerchantAsync(string totalAmount)
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        if (totalAmount == "0") return app.MerchantId;
        var buyer = await Server.BuyerAsync(1_000_000);
        var qr = (await Server.Caller(app).CallAsync("alipay.trade.precreate",
            new { out_trade_no = "MK-" + Guid.NewGuid().ToString("N"), total_amount = totalAmount, subject = "充值" })).ShouldBe("10000")["qr_code"]!;
        using var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        return app.MerchantId;
    }

    /// <summary>A user's new token after the clock moved past the old one's lifetime.</summary>
    protected async Task<WalletClient> LoginAgainAsync(WalletClient user) =>
        new(Server.Http, user.UserId, user.Phone, await WalletClient.TokenAsync(Server.Http, user.Phone, "correct horse"));
}

public abstract class CampaignTests<TServer>(TServer server) : CampaignTestBase(server), IClassFixture<TServer> where TServer : ClockedGatewayServer
{
    [Fact]
    public async Task A_platform_campaign_moves_its_budget_from_marketing_expense_and_stop_returns_exactly_the_remainder_once()
    {
        var spendBefore = await PlatformSpendAsync();
        var body = CouponCampaign(budget: 10_000);
        var created = await CreateAsync(body, "camp-platform-1");
        var id = created["id"]!.GetValue<Guid>();
        created["status"]!.GetValue<string>().ShouldBe("active");
        created["kind"]!.GetValue<string>().ShouldBe("coupon");
        ShouldBalance(created, 10_000, 0);
        created["coupons"]!["stock"]!.GetValue<int>().ShouldBe(10);
        created["coupons"]!["claimed"]!.GetValue<int>().ShouldBe(0);
        created["terms"]!["coupon"]!["per_user_max"]!.GetValue<int>().ShouldBe(1);
        created["terms"]!["coupon"]!["return_on_refund"]!.GetValue<bool>().ShouldBeTrue();
        (await PlatformSpendAsync()).ShouldBe(spendBefore + 10_000);

        // The same key is the same campaign; nothing moves again.
        (await CreateAsync(body, "camp-platform-1"))["id"]!.GetValue<Guid>().ShouldBe(id);
        (await PlatformSpendAsync()).ShouldBe(spendBefore + 10_000);
        await Server.AssertLedgerOkAsync();

        // What the campaign pays is spent; amount = spent + remaining throughout.
        var buyer = await Server.BuyerAsync(100);
        await SpendAsync(id, buyer, 1_234);
        ShouldBalance(await GetAsync(id), 10_000, 1_234);
        await Server.AssertLedgerOkAsync();

        var stopped = await StopAsync(id);
        stopped["status"]!.GetValue<string>().ShouldBe("stopped");
        stopped["budget"]!["returned"]!.GetValue<long>().ShouldBe(8_766);
        ShouldBalance(stopped, 10_000, 1_234);
        (await PlatformSpendAsync()).ShouldBe(spendBefore + 1_234);
        var fingerprint = await Server.LedgerFingerprintAsync();

        // A second stop answers the same and moves nothing.
        var again = await StopAsync(id);
        again["status"]!.GetValue<string>().ShouldBe("stopped");
        again["budget"]!["returned"]!.GetValue<long>().ShouldBe(8_766);
        (await Server.LedgerFingerprintAsync()).ShouldBe(fingerprint);
        (await PlatformSpendAsync()).ShouldBe(spendBefore + 1_234);

        // Stopped: nothing more can be claimed.
        await (await buyer.PostAsync("/v1/coupons", new { campaign_id = id })).ShouldBeProblemAsync(422, "campaign_not_active");
        var list = await JsonAsync(await OperatorAsync(HttpMethod.Get, "/admin/v1/campaigns"), HttpStatusCode.OK);
        list["items"]!.AsArray().Single(i => i!["id"]!.GetValue<Guid>() == id)!["status"]!.GetValue<string>().ShouldBe("stopped");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/campaigns/{Guid.NewGuid()}/stop")).ShouldBeProblemAsync(404, "not_found");
        await (await OperatorAsync(HttpMethod.Get, "/admin/v1/campaigns/nope")).ShouldBeProblemAsync(404, "not_found");
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_merchant_funds_its_campaign_from_its_settlement_balance_and_a_short_merchant_moves_nothing()
    {
        var merchant = await FundedMerchantAsync("50.00");
        (await Server.SettlementAsync(merchant)).Available.ShouldBe(5_000);
        var funding = new { source = "merchant", merchant_id = merchant };

        var before = await Server.LedgerFingerprintAsync();
        await (await OperatorAsync(HttpMethod.Post, "/admin/v1/campaigns", CouponCampaign(budget: 5_001, funding: funding), "camp-short"))
            .ShouldBeProblemAsync(422, "insufficient_funds");
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);
        (await JsonAsync(await OperatorAsync(HttpMethod.Get, "/admin/v1/campaigns"), HttpStatusCode.OK))["items"]!.AsArray()
            .Any(i => i!["funding"]!["merchant_id"]?.GetValue<Guid>() == merchant).ShouldBeFalse();

        // A merchant that never took a payment has no balance at all: just as short.
        var empty = await FundedMerchantAsync("0");
        await (await OperatorAsync(HttpMethod.Post, "/admin/v1/campaigns",
            CouponCampaign(budget: 1_000, funding: new { source = "merchant", merchant_id = empty }), "camp-empty")).ShouldBeProblemAsync(422, "insufficient_funds");
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);

        // A merchant's campaign applies at that merchant only.
        var other = await FundedMerchantAsync("0");
        await (await OperatorAsync(HttpMethod.Post, "/admin/v1/campaigns", CouponCampaign(budget: 1_000, funding: funding, merchantIds: new[] { other }), "camp-scope"))
            .ShouldBeProblemAsync(400, "invalid_merchant_ids");

        var created = await CreateAsync(CouponCampaign(budget: 3_000, funding: funding, coupon: new { type = "threshold", amount = 1_000, min_spend = 5_000, stock = 3, valid_days = 3 }));
        var id = created["id"]!.GetValue<Guid>();
        created["merchant_ids"]!.AsArray().Single()!.GetValue<Guid>().ShouldBe(merchant);
        created["funding"]!["source"]!.GetValue<string>().ShouldBe("merchant");
        ShouldBalance(created, 3_000, 0);
        (await Server.SettlementAsync(merchant)).Available.ShouldBe(2_000);
        await Server.AssertLedgerOkAsync();

        var buyer = await Server.BuyerAsync(100);
        await SpendAsync(id, buyer, 1_000);
        var stopped = await StopAsync(id);
        stopped["budget"]!["returned"]!.GetValue<long>().ShouldBe(2_000);
        ShouldBalance(stopped, 3_000, 1_000);
        (await Server.SettlementAsync(merchant)).Available.ShouldBe(4_000);
        await StopAsync(id);
        (await Server.SettlementAsync(merchant)).Available.ShouldBe(4_000);
        await Server.AssertLedgerOkAsync();
    }

    public static TheoryData<string, string> BadCampaigns => new()
    {
        { """{"name":"","kind":"coupon"}""", "invalid_campaign_name" },
        { """{"name":"x","kind":"voucher"}""", "invalid_kind" },
        { """{"name":"x","kind":"coupon","funding":{"source":"bank"}}""", "invalid_funding" },
        { """{"name":"x","kind":"coupon","funding":{"source":"platform","merchant_id":"00000000-0000-0000-0000-000000000001"}}""", "invalid_funding" },
        { """{"name":"x","kind":"coupon","funding":{"source":"merchant","merchant_id":"00000000-0000-0000-0000-000000000001"}}""", "invalid_funding" },
        { """{"name":"x","kind":"coupon","funding":{"source":"merchant"}}""", "invalid_funding" },
        { """{"name":"x","kind":"coupon","funding":{"source":"platform"},"budget":{"amount":0}}""", "invalid_amount" },
        { """{"name":"x","kind":"coupon","funding":{"source":"platform"},"budget":{"amount":100,"currency":"XXX"}}""", "invalid_currency" },
        { """{"name":"x","kind":"coupon","funding":{"source":"platform"},"budget":{"amount":100},"ends_at":"2020-01-01T00:00:00Z"}""", "invalid_campaign_window" },
        { """{"name":"x","kind":"coupon","funding":{"source":"platform"},"budget":{"amount":100},"ends_at":"2099-01-01T00:00:00"}""", "invalid_campaign_window" },
        { """{"name":"x","kind":"coupon","funding":{"source":"platform"},"budget":{"amount":100},"starts_at":"2099-02-01T00:00:00Z","ends_at":"2099-01-01T00:00:00Z"}""", "invalid_campaign_window" },
        { """{"name":"x","kind":"coupon","funding":{"source":"platform"},"budget":{"amount":100},"ends_at":"2099-01-01T00:00:00Z","merchant_ids":["nope"]}""", "invalid_merchant_ids" },
        { """{"name":"x","kind":"coupon","funding":{"source":"platform"},"budget":{"amount":100},"ends_at":"2099-01-01T00:00:00Z","merchant_ids":["00000000-0000-0000-0000-000000000001"]}""", "invalid_merchant_ids" },
        { Kind("coupon", null), "invalid_kind_fields" },
        { Kind("coupon", """ "coupon":{"type":"fixed","amount":1,"stock":1,"valid_days":1},"points":{"multiplier_bps":20000} """), "invalid_kind_fields" },
        { Kind("first_payment", """ "coupon":{"type":"fixed","amount":1,"stock":1,"valid_days":1} """), "invalid_kind_fields" },
        { Coupon("""{"type":"bogo","stock":1,"valid_days":1}"""), "invalid_coupon_type" },
        { Coupon("""{"type":"fixed","stock":1,"valid_days":1}"""), "invalid_discount_amount" },
        { Coupon("""{"type":"fixed","amount":10001,"stock":1,"valid_days":1}"""), "invalid_discount_amount" },
        { Coupon("""{"type":"percent","amount":100,"percent_bps":1000,"stock":1,"valid_days":1}"""), "invalid_discount_amount" },
        { Coupon("""{"type":"fixed","amount":100,"percent_bps":1000,"stock":1,"valid_days":1}"""), "invalid_percent_bps" },
        { Coupon("""{"type":"percent","stock":1,"valid_days":1}"""), "invalid_percent_bps" },
        { Coupon("""{"type":"percent","percent_bps":10001,"stock":1,"valid_days":1}"""), "invalid_percent_bps" },
        { Coupon("""{"type":"fixed","amount":100,"cap":50,"stock":1,"valid_days":1}"""), "invalid_cap" },
        { Coupon("""{"type":"percent","percent_bps":1000,"cap":0,"stock":1,"valid_days":1}"""), "invalid_cap" },
        { Coupon("""{"type":"fixed","amount":100,"min_spend":500,"stock":1,"valid_days":1}"""), "invalid_min_spend" },
        { Coupon("""{"type":"threshold","amount":100,"stock":1,"valid_days":1}"""), "invalid_min_spend" },
        { Coupon("""{"type":"threshold","amount":100,"min_spend":100,"stock":1,"valid_days":1}"""), "invalid_min_spend" },
        { Coupon("""{"type":"percent","percent_bps":1000,"min_spend":-1,"stock":1,"valid_days":1}"""), "invalid_min_spend" },
        { Coupon("""{"type":"fixed","amount":100,"valid_days":1}"""), "invalid_stock" },
        { Coupon("""{"type":"fixed","amount":100,"stock":1000001,"valid_days":1}"""), "invalid_stock" },
        { Coupon("""{"type":"fixed","amount":100,"stock":2,"per_user_max":3,"valid_days":1}"""), "invalid_per_user_max" },
        { Coupon("""{"type":"fixed","amount":100,"stock":2,"per_user_max":0,"valid_days":1}"""), "invalid_per_user_max" },
        { Coupon("""{"type":"fixed","amount":100,"stock":1}"""), "invalid_validity" },
        { Coupon("""{"type":"fixed","amount":100,"stock":1,"valid_days":1,"valid_until":"2098-01-01T00:00:00Z"}"""), "invalid_validity" },
        { Coupon("""{"type":"fixed","amount":100,"stock":1,"valid_days":366}"""), "invalid_validity" },
        { Coupon("""{"type":"fixed","amount":100,"stock":1,"valid_until":"2020-01-01T00:00:00Z"}"""), "invalid_validity" },
        { Kind("first_payment", """ "first_payment":{"min_spend":1000} """), "invalid_discount_amount" },
        { Kind("first_payment", """ "first_payment":{"amount":500} """), "invalid_min_spend" },
        { Kind("first_payment", """ "first_payment":{"amount":500,"min_spend":500} """), "invalid_min_spend" },
        { Kind("cashback", """ "cashback":{"settle_after_hours":0} """), "invalid_percent_bps" },
        { Kind("cashback", """ "cashback":{"percent_bps":100,"cap":20000,"settle_after_hours":0} """), "invalid_cap" },
        { Kind("cashback", """ "cashback":{"percent_bps":100,"min_spend":-5,"settle_after_hours":0} """), "invalid_min_spend" },
        { Kind("cashback", """ "cashback":{"percent_bps":100} """), "invalid_settle_after_hours" },
        { Kind("cashback", """ "cashback":{"percent_bps":100,"settle_after_hours":8761} """), "invalid_settle_after_hours" },
        { Kind("points", """ "points":{} """), "invalid_multiplier_bps" },
        { Kind("points", """ "points":{"multiplier_bps":9999} """), "invalid_multiplier_bps" },
        { Kind("points", """ "points":{"multiplier_bps":100001} """), "invalid_multiplier_bps" },
        { """{"name":"x","kind":"coupon","funding":{"source":"platform"},"budget":{"amount":"100"}}""", "invalid_amount" },
        { Coupon("""{"type":"fixed","amount":"5","stock":1,"valid_days":1}"""), "malformed_json" },
    };

    private static string Kind(string kind, string? fields) =>
        $$"""{"name":"x","kind":"{{kind}}","funding":{"source":"platform"},"budget":{"amount":10000},"ends_at":"2099-01-01T00:00:00Z"{{(fields is null ? "" : "," + fields)}}}""";

    private static string Coupon(string coupon) => Kind("coupon", $""" "coupon":{coupon} """);

    [Theory]
    [MemberData(nameof(BadCampaigns))]
    public async Task Every_bad_combination_is_a_400_with_its_code_and_moves_nothing(string json, string code)
    {
        var before = await Server.LedgerFingerprintAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/campaigns")
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", GatewayServer.OperatorKey);
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        await (await Server.Http.SendAsync(request)).ShouldBeProblemAsync(400, code);
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Every_other_kind_is_created_with_its_fields_and_a_key_is_required()
    {
        // Scoped to a merchant no one pays: a live cashback (or first-payment) campaign for every merchant would reward the
        // payments of this class's other tests after the fact and move their ledger fingerprints.
        var nowhere = (await Server.CreateMerchantWithAppAsync(feeBps: 0)).MerchantId;
        foreach (var (kind, fields) in new[]
        {
            ("first_payment", (object)new { amount = 500, min_spend = 1_000 }),
            ("cashback", new { percent_bps = 200, cap = 1_000, settle_after_hours = 24 }),
            ("points", new { multiplier_bps = 20_000 }),
        })
        {
            var body = new Dictionary<string, object?>
            {
                ["name"] = kind, ["kind"] = kind, ["funding"] = new { source = "platform" }, ["budget"] = new { amount = 2_000, currency = "CNY" },
                ["ends_at"] = Time(TimeSpan.FromDays(60)), [kind] = fields, ["merchant_ids"] = new[] { nowhere },
            };
            var created = await CreateAsync(body);
            created["kind"]!.GetValue<string>().ShouldBe(kind);
            created["coupons"].ShouldBeNull();
            created["terms"]![kind].ShouldNotBeNull();
            ShouldBalance(created, 2_000, 0);
        }
        await (await OperatorAsync(HttpMethod.Post, "/admin/v1/campaigns", CouponCampaign())).ShouldBeProblemAsync(400, "idempotency_key_missing");
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task With_stock_ten_fifty_concurrent_claims_by_different_users_give_exactly_ten_coupons()
    {
        const int stock = 10;
        var id = (await CreateAsync(CouponCampaign(coupon: new { type = "fixed", amount = 100, stock, valid_days = 7 })))["id"]!.GetValue<Guid>();
        var users = new List<WalletClient>();
        for (var i = 0; i < 5 * stock; i++) users.Add(await WalletClient.RegisterAsync(Server.Http, $"抢券{i}"));

        var responses = await Task.WhenAll(users.Select(u => u.PostAsync("/v1/coupons", new { campaign_id = id })));
        var statuses = responses.Select(r => (int)r.StatusCode).ToList();
        statuses.Count(s => s == 201).ShouldBe(stock);
        statuses.Count(s => s == 422).ShouldBe(4 * stock);
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.Created)) await refused.ShouldBeProblemAsync(422, "out_of_stock");

        var campaign = await GetAsync(id);
        campaign["coupons"]!["claimed"]!.GetValue<int>().ShouldBe(stock);
        (await Server.CountAsync("SELECT count(*) FROM coupons WHERE campaign_id = @id", new { id })).ShouldBe(stock);
        // Out of stock: no longer listed for anyone.
        (await users[0].GetJsonAsync("/v1/campaigns"))["items"]!.AsArray().Any(i => i!["id"]!.GetValue<Guid>() == id).ShouldBeFalse();
        ShouldBalance(campaign, 10_000, 0);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Per_user_max_holds_under_concurrent_claims_by_one_user_and_a_key_replays_its_coupon()
    {
        var id = (await CreateAsync(CouponCampaign(coupon: new { type = "percent", percent_bps = 1_000, cap = 300, stock = 100, per_user_max = 3, valid_days = 1 })))
            ["id"]!.GetValue<Guid>();
        var other = (await CreateAsync(CouponCampaign()))["id"]!.GetValue<Guid>();
        var user = await Server.BuyerAsync(0);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => user.PostAsync("/v1/coupons", new { campaign_id = id }, $"claim-{i}")));
        responses.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(3);
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.Created)) await refused.ShouldBeProblemAsync(422, "coupon_limit_reached");
        (await GetAsync(id))["coupons"]!["claimed"]!.GetValue<int>().ShouldBe(3);

        // A key that claimed answers the same coupon again; the same key for another campaign is refused.
        var winner = Array.FindIndex(responses, r => r.StatusCode == HttpStatusCode.Created);
        var first = await JsonAsync(responses[winner], HttpStatusCode.Created);
        var replay = await JsonAsync(await user.PostAsync("/v1/coupons", new { campaign_id = id }, $"claim-{winner}"), HttpStatusCode.Created);
        replay["id"]!.GetValue<Guid>().ShouldBe(first["id"]!.GetValue<Guid>());
        replay["status"]!.GetValue<string>().ShouldBe("available");
        replay["type"]!.GetValue<string>().ShouldBe("percent");
        replay["percent_bps"]!.GetValue<int>().ShouldBe(1_000);
        replay["cap"]!.GetValue<long>().ShouldBe(300);
        await (await user.PostAsync("/v1/coupons", new { campaign_id = other }, $"claim-{winner}")).ShouldBeProblemAsync(422, "idempotency_key_reused");
        (await GetAsync(id))["coupons"]!["claimed"]!.GetValue<int>().ShouldBe(3);

        // Listed as available, not among the claimable campaigns any more; expired after a day.
        (await user.GetJsonAsync("/v1/coupons?status=available"))["items"]!.AsArray().Count(i => i!["campaign_id"]!.GetValue<Guid>() == id).ShouldBe(3);
        (await user.GetJsonAsync("/v1/campaigns"))["items"]!.AsArray().Any(i => i!["id"]!.GetValue<Guid>() == id).ShouldBeFalse();
        (await user.GetJsonAsync("/v1/campaigns"))["items"]!.AsArray().Any(i => i!["id"]!.GetValue<Guid>() == other).ShouldBeTrue();

        await (await user.GetAsync("/v1/coupons?status=lost")).ShouldBeProblemAsync(400, "invalid_status");
        await (await user.PostAsync("/v1/coupons", new { campaign_id = "x" })).ShouldBeProblemAsync(400, "invalid_campaign_id");
        await (await user.PostAsync("/v1/coupons", new { campaign_id = Guid.NewGuid() })).ShouldBeProblemAsync(404, "not_found");
        await (await user.PostRawAsync("/v1/coupons", $$"""{"campaign_id":"{{id}}"}""", null)).ShouldBeProblemAsync(400, "idempotency_key_missing");
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task The_payment_path_gets_the_usable_coupons_best_first_with_their_discounts_and_budget_accounts()
    {
        var merchant = await FundedMerchantAsync("0");
        var elsewhere = await FundedMerchantAsync("0");
        var user = await Server.BuyerAsync(0);
        async Task<Guid> ClaimAsync(object coupon, long budget = 10_000, object? merchantIds = null)
        {
            var campaign = (await CreateAsync(CouponCampaign(budget: budget, coupon: coupon, merchantIds: merchantIds)))["id"]!.GetValue<Guid>();
            return (await JsonAsync(await user.PostAsync("/v1/coupons", new { campaign_id = campaign }), HttpStatusCode.Created))["id"]!.GetValue<Guid>();
        }
        var fixedCoupon = await ClaimAsync(new { type = "fixed", amount = 500, stock = 5, valid_days = 7 });
        var percent = await ClaimAsync(new { type = "percent", percent_bps = 1_000, cap = 800, stock = 5, valid_days = 3 });
        var threshold = await ClaimAsync(new { type = "threshold", amount = 2_000, min_spend = 10_000, stock = 5, valid_days = 7 }, merchantIds: new[] { merchant });
        var elsewhereOnly = await ClaimAsync(new { type = "fixed", amount = 900, stock = 5, valid_days = 7 }, merchantIds: new[] { elsewhere });
        var poor = await ClaimAsync(new { type = "fixed", amount = 700, stock = 5, valid_days = 7 }, budget: 700);

        var coupons = Server.Services.GetRequiredService<Coupons>();
        async Task<IReadOnlyList<UsableCoupon>> UsableAsync(long total) =>
            (await coupons.UsableForAsync(user.UserId, merchant, total, Currency.Cny, CancellationToken.None))
                .Where(u => new[] { fixedCoupon, percent, threshold, elsewhereOnly, poor }.Contains(u.CouponId)).ToList();

        // ¥99.99: threshold not reached; percent floor(9999 × 0.1) = 999 → capped at 800; fixed 500 and 700.
        var at9999 = await UsableAsync(9_999);
        at9999.Select(u => (u.CouponId, u.DiscountFen)).ShouldBe([(percent, 800), (poor, 700), (fixedCoupon, 500)]);
        // ¥100.00: the threshold counts from min_spend exactly.
        (await UsableAsync(10_000)).Select(u => (u.CouponId, u.DiscountFen)).ShouldBe([(threshold, 2_000), (percent, 800), (poor, 700), (fixedCoupon, 500)]);
        var thresholdCampaign = (await coupons.FindAsync(threshold, CancellationToken.None))!.campaign_id;
        (await UsableAsync(10_000))[0].BudgetAccount.ShouldBe(ChartOfAccounts.CampaignBudget(thresholdCampaign, Currency.Cny).Id);
        // ¥5.00: fixed 500 needs a larger payment; percent floor(500 × 0.1) = 50.
        (await UsableAsync(500)).Select(u => (u.CouponId, u.DiscountFen)).ShouldBe([(percent, 50)]);
        // 9 fen: 10% rounds down to 0, which is no discount.
        (await UsableAsync(9)).ShouldBeEmpty();

        // A budget that no longer covers the discount makes its coupon unusable.
        var poorCampaign = (await coupons.FindAsync(poor, CancellationToken.None))!.campaign_id;
        await SpendAsync(poorCampaign, user, 1);
        (await UsableAsync(9_999)).Select(u => u.CouponId).ShouldBe([percent, fixedCoupon]);
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteCampaignTests(SqliteClockedGatewayServer server) : CampaignTests<SqliteClockedGatewayServer>(server);

public sealed class PostgresCampaignTests(PostgresClockedGatewayServer server) : CampaignTests<PostgresClockedGatewayServer>(server);

/// <summary>Tests that move the server's clock (their own server: a moved clock expires tokens and gateway timestamps).</summary>
public abstract class CampaignClockTests<TServer>(TServer server) : CampaignTestBase(server), IClassFixture<TServer> where TServer : ClockedGatewayServer
{
    [Fact]
    public async Task A_scheduled_campaign_starts_on_time_and_the_sweeper_ends_it_returning_the_remainder_once()
    {
        var spendBefore = await PlatformSpendAsync();
        var scheduled = await CreateAsync(CouponCampaign(budget: 4_000, starts: TimeSpan.FromMinutes(30), ends: TimeSpan.FromHours(1)));
        var id = scheduled["id"]!.GetValue<Guid>();
        scheduled["status"]!.GetValue<string>().ShouldBe("scheduled");
        var buyer = await Server.BuyerAsync(0);
        await (await buyer.PostAsync("/v1/coupons", new { campaign_id = id })).ShouldBeProblemAsync(422, "campaign_not_active");
        (await buyer.GetJsonAsync("/v1/campaigns"))["items"]!.AsArray().Any(i => i!["id"]!.GetValue<Guid>() == id).ShouldBeFalse();

        Server.Clock.Advance(TimeSpan.FromMinutes(31));
        buyer = await LoginAgainAsync(buyer);
        (await GetAsync(id))["status"]!.GetValue<string>().ShouldBe("active");
        var claimable = (await buyer.GetJsonAsync("/v1/campaigns"))["items"]!.AsArray().Single(i => i!["id"]!.GetValue<Guid>() == id)!;
        claimable["remaining_stock"]!.GetValue<int>().ShouldBe(10);
        var coupon = await JsonAsync(await buyer.PostAsync("/v1/coupons", new { campaign_id = id }), HttpStatusCode.Created);
        // Valid 7 days, but never past the campaign's end.
        coupon["expires_at"]!.GetValue<DateTimeOffset>().ShouldBe(scheduled["ends_at"]!.GetValue<DateTimeOffset>());
        await SpendAsync(id, buyer, 500);

        Server.Clock.Advance(TimeSpan.FromMinutes(30));
        buyer = await LoginAgainAsync(buyer);
        JsonObject ended = null!;
        await Poll.UntilAsync(async () => (ended = await GetAsync(id))["budget"]!["returned"]!.GetValue<long>() == 3_500, "the sweeper to end the campaign");
        ended["status"]!.GetValue<string>().ShouldBe("ended");
        ShouldBalance(ended, 4_000, 500);
        ended["coupons"]!["expired"]!.GetValue<long>().ShouldBe(1);
        (await PlatformSpendAsync()).ShouldBe(spendBefore + 500);

        // A stop after the end changes nothing, and the sweeper does not return anything again.
        var fingerprint = await Server.LedgerFingerprintAsync();
        (await StopAsync(id))["status"]!.GetValue<string>().ShouldBe("ended");
        await Server.Services.GetRequiredService<CampaignEndSweeper>().SweepOnceAsync(CancellationToken.None);
        (await Server.LedgerFingerprintAsync()).ShouldBe(fingerprint);
        (await buyer.GetJsonAsync("/v1/coupons?status=expired"))["items"]!.AsArray().Single()!["id"]!.GetValue<Guid>()
            .ShouldBe(coupon["id"]!.GetValue<Guid>());
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_coupon_lists_as_expired_once_its_valid_days_pass()
    {
        var id = (await CreateAsync(CouponCampaign(coupon: new { type = "percent", percent_bps = 1_000, stock = 10, per_user_max = 2, valid_days = 1 })))
            ["id"]!.GetValue<Guid>();
        var user = await Server.BuyerAsync(0);
        for (var i = 0; i < 2; i++) (await user.PostAsync("/v1/coupons", new { campaign_id = id })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await user.GetJsonAsync("/v1/coupons?status=available"))["items"]!.AsArray().Count(i => i!["campaign_id"]!.GetValue<Guid>() == id).ShouldBe(2);

        Server.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        user = await LoginAgainAsync(user);
        (await user.GetJsonAsync("/v1/coupons?status=available"))["items"]!.AsArray().Any(i => i!["campaign_id"]!.GetValue<Guid>() == id).ShouldBeFalse();
        var expired = (await user.GetJsonAsync("/v1/coupons?status=expired"))["items"]!.AsArray().Where(i => i!["campaign_id"]!.GetValue<Guid>() == id).ToList();
        expired.Count.ShouldBe(2);
        expired.ShouldAllBe(i => i!["status"]!.GetValue<string>() == "expired");
        (await user.GetJsonAsync("/v1/coupons"))["items"]!.AsArray().Count(i => i!["campaign_id"]!.GetValue<Guid>() == id).ShouldBe(2);
        var campaign = await GetAsync(id);
        campaign["coupons"]!["expired"]!.GetValue<long>().ShouldBe(2);
        campaign["coupons"]!["claimed"]!.GetValue<int>().ShouldBe(2);
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteCampaignClockTests(SqliteClockedGatewayServer server) : CampaignClockTests<SqliteClockedGatewayServer>(server);

public sealed class PostgresCampaignClockTests(PostgresClockedGatewayServer server) : CampaignClockTests<PostgresClockedGatewayServer>(server);

/// <summary>The discount arithmetic, exactly (engine-free).</summary>
public sealed class CouponRuleTests
{
    [Theory]
    [InlineData(0, 500, 0, 0, 0, 501, 500)]
    [InlineData(0, 500, 0, 0, 0, 500, 0)] // the buyer pays at least 1 fen
    [InlineData(2, 2_000, 0, 0, 10_000, 9_999, 0)]
    [InlineData(2, 2_000, 0, 0, 10_000, 10_000, 2_000)]
    [InlineData(1, 0, 1_000, 0, 0, 9_999, 999)] // 999.9 rounds down
    [InlineData(1, 0, 1_000, 300, 0, 9_999, 300)] // capped
    [InlineData(1, 0, 1_000, 0, 0, 9, 0)] // 0.9 fen is no discount
    [InlineData(1, 0, 3_333, 0, 0, 3, 0)]
    [InlineData(1, 0, 3_333, 0, 0, 301, 100)] // 100.3233 → 100
    [InlineData(1, 0, 10_000, 0, 0, 1_000, 999)] // 100% leaves 1 fen to pay
    [InlineData(1, 0, 1_000, 0, 5_000, 4_999, 0)] // min_spend
    [InlineData(1, 0, 1_000, 0, 5_000, 5_000, 500)]
    [InlineData(1, 0, 9_999, 0, 0, 10_000_000_000, 9_999_000_000)] // the largest payment stays exact
    public void Discounts_round_down_to_the_fen_cap_and_leave_at_least_one_fen(int type, long amount, int bps, long cap, long minSpend, long total,
        long expected) =>
        CouponRules.Discount((CouponType)type, amount, bps, cap, minSpend, total).ShouldBe(expected);
}
