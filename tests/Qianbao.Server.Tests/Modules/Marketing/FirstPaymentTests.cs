using System.Net;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Modules.Marketing;

/// <summary>
/// First-payment discounts (once per user, even under concurrent payments; min_spend edges; merchant scope; stacking after a
/// coupon with the buyer paying at least a fen; an exhausted budget; refunds in proportion ending exactly) and points campaigns'
/// multipliers. Every campaign here is scoped to its test's merchant, so the tests sharing a server do not see each other's.
/// The ledger check passes after each.
/// </summary>
public abstract class FirstPaymentTests<TServer>(TServer server) : CampaignTestBase(server), IClassFixture<TServer> where TServer : ClockedGatewayServer
{
    private Dictionary<string, object?> FirstPaymentCampaign(Guid merchantId, long amount, long minSpend, long budget = 10_000) => new()
    {
        ["name"] = "首单立减",
        ["kind"] = "first_payment",
        ["funding"] = new { source = "platform" },
        ["budget"] = new { amount = budget, currency = "CNY" },
        ["starts_at"] = Time(TimeSpan.FromMinutes(-5)),
        ["ends_at"] = Time(TimeSpan.FromDays(60)),
        ["merchant_ids"] = new[] { merchantId },
        ["first_payment"] = new { amount, min_spend = minSpend },
    };

    private async Task<Guid> FirstAsync(Guid merchantId, long amount, long minSpend, long budget = 10_000) =>
        (await CreateAsync(FirstPaymentCampaign(merchantId, amount, minSpend, budget)))["id"]!.GetValue<Guid>();

    private async Task<string> QrAsync(MerchantApp app, string total, string? outTradeNo = null) =>
        (await Server.Caller(app).CallAsync("alipay.trade.precreate",
            new { out_trade_no = outTradeNo ?? "FP-" + Guid.NewGuid().ToString("N"), total_amount = total, subject = "首单" })).ShouldBe("10000")["qr_code"]!;

    private async Task<JsonObject> PayAsync(WalletClient buyer, MerchantApp app, string total, string? outTradeNo = null, object? couponId = null) =>
        await JsonAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = await QrAsync(app, total, outTradeNo), coupon_id = couponId }),
            HttpStatusCode.OK);

    private async Task RefundAsync(MerchantApp app, string outTradeNo, string amount, string requestNo) =>
        (await Server.Caller(app).CallAsync("alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = amount, out_request_no = requestNo }))
            .ShouldBe("10000");

    [Fact]
    public async Task Only_the_first_payment_takes_the_discount_from_its_min_spend_exactly()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var campaign = await FirstAsync(app.MerchantId, amount: 300, minSpend: 1_000);

        // 9.99 is below min_spend: no discount, and that payment was this buyer's first, so none later either.
        var below = await Server.BuyerAsync(100_000);
        (await PayAsync(below, app, "9.99"))["discount_amount"]!.GetValue<long>().ShouldBe(0);
        (await PayAsync(below, app, "10.00"))["discount_amount"]!.GetValue<long>().ShouldBe(0);

        // 10.00 exactly reaches it: 3.00 off, once.
        var buyer = await Server.BuyerAsync(100_000);
        var first = await PayAsync(buyer, app, "10.00");
        first["discount_amount"]!.GetValue<long>().ShouldBe(300);
        first["pay_amount"]!.GetValue<long>().ShouldBe(700);
        first["coupons"]!.AsArray().Count.ShouldBe(0);
        var second = await PayAsync(buyer, app, "10.00");
        second["discount_amount"]!.GetValue<long>().ShouldBe(0);
        second["pay_amount"]!.GetValue<long>().ShouldBe(1_000);
        (await buyer.AvailableAsync()).ShouldBe(100_000 - 700 - 1_000);
        // The merchant has the totals; the budget paid 3.00 and says so.
        (await Server.SettlementAsync(app.MerchantId)).Available.ShouldBe(999 + 1_000 + 1_000 + 1_000);
        ShouldBalance(await GetAsync(campaign), 10_000, 300);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_first_payment_outside_the_scope_takes_nothing_and_uses_up_the_first()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var other = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var campaign = await FirstAsync(app.MerchantId, amount: 500, minSpend: 600);
        var buyer = await Server.BuyerAsync(100_000);
        (await PayAsync(buyer, other, "20.00"))["discount_amount"]!.GetValue<long>().ShouldBe(0);
        // Paid elsewhere first: the in-scope payment is not a first payment any more.
        (await PayAsync(buyer, app, "20.00"))["discount_amount"]!.GetValue<long>().ShouldBe(0);
        ShouldBalance(await GetAsync(campaign), 10_000, 0);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Concurrent_first_payments_of_one_buyer_take_the_discount_once()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var campaign = await FirstAsync(app.MerchantId, amount: 400, minSpend: 500);
        var buyer = await Server.BuyerAsync(100_000);
        var qrs = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => QrAsync(app, "10.00")));
        var paid = await Task.WhenAll(qrs.Select(async qr => await JsonAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr }), HttpStatusCode.OK)));
        paid.Count(p => p["discount_amount"]!.GetValue<long>() == 400).ShouldBe(1);
        paid.Sum(p => p["discount_amount"]!.GetValue<long>()).ShouldBe(400);
        (await buyer.AvailableAsync()).ShouldBe(100_000 - 6 * 1_000 + 400);
        ShouldBalance(await GetAsync(campaign), 10_000, 400);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task An_exhausted_budget_gives_no_discount_and_the_payment_goes_through()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var campaign = await FirstAsync(app.MerchantId, amount: 300, minSpend: 500, budget: 500);
        var a = await Server.BuyerAsync(10_000);
        var b = await Server.BuyerAsync(10_000);
        (await PayAsync(a, app, "5.00"))["discount_amount"]!.GetValue<long>().ShouldBe(300);
        // 2.00 left cannot pay 3.00: b pays in full.
        var full = await PayAsync(b, app, "5.00");
        full["discount_amount"]!.GetValue<long>().ShouldBe(0);
        full["pay_amount"]!.GetValue<long>().ShouldBe(500);
        ShouldBalance(await GetAsync(campaign), 500, 300);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task It_stacks_after_a_coupon_refunds_split_in_proportion_and_the_buyer_always_pays_a_fen()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var coupons = (await CreateAsync(CouponCampaign(budget: 10_000, coupon: new { type = "fixed", amount = 500, stock = 5, valid_days = 7 },
            merchantIds: new[] { app.MerchantId })))["id"]!.GetValue<Guid>();
        var first = await FirstAsync(app.MerchantId, amount: 300, minSpend: 1_000);
        var buyer = await Server.BuyerAsync(100_000);
        var coupon = (await JsonAsync(await buyer.PostAsync("/v1/coupons", new { campaign_id = coupons }), HttpStatusCode.Created))["id"]!.GetValue<Guid>();

        // The preview shows both parts.
        var qr = await QrAsync(app, "20.00", "FP-STACK-" + Guid.NewGuid().ToString("N"));
        var preview = await JsonAsync(await buyer.PostAsync("/v1/qr-codes/resolve", new { qr_code = qr }), HttpStatusCode.OK);
        preview["discount"]!["amount"]!.GetValue<long>().ShouldBe(800);
        preview["discount"]!["coupon_id"]!.GetValue<Guid>().ShouldBe(coupon);
        preview["discount"]!["coupon_amount"]!.GetValue<long>().ShouldBe(500);
        preview["discount"]!["first_payment"]!["campaign_id"]!.GetValue<Guid>().ShouldBe(first);
        preview["discount"]!["first_payment"]!["amount"]!.GetValue<long>().ShouldBe(300);
        preview["pay_amount"]!.GetValue<long>().ShouldBe(1_200);

        var outTradeNo = "FP-" + Guid.NewGuid().ToString("N");
        var paid = await PayAsync(buyer, app, "20.00", outTradeNo);
        paid["discount_amount"]!.GetValue<long>().ShouldBe(800);
        paid["pay_amount"]!.GetValue<long>().ShouldBe(1_200);
        paid["coupons"]!.AsArray().Select(c => c!["amount"]!.GetValue<long>()).ShouldBe([500L]);
        var tradeNo = paid["trade_no"]!.GetValue<string>();
        (await buyer.GetJsonAsync($"/v1/trades/{tradeNo}"))["discount"]!["first_payment"]!["amount"]!.GetValue<long>().ShouldBe(300);

        // The gateway lists both platform-funded discounts.
        var query = (await Server.Caller(app).CallAsync("alipay.trade.query", new { out_trade_no = outTradeNo })).ShouldBe("10000");
        query["buyer_pay_amount"]!.ShouldBe("12.00");
        query["receipt_amount"]!.ShouldBe("20.00");
        var vouchers = JsonNode.Parse(query["voucher_detail_list"]!.ToString()!)!.AsArray();
        vouchers.Select(v => (v!["id"]!.GetValue<string>(), v["amount"]!.GetValue<string>(), v["other_contribute"]!.GetValue<string>()))
            .ShouldBe([(coupon.ToString("N"), "5.00", "5.00"), (first.ToString("N"), "3.00", "3.00")]);
        ShouldBalance(await GetAsync(coupons), 10_000, 500);
        ShouldBalance(await GetAsync(first), 10_000, 300);
        await Server.AssertLedgerOkAsync();

        // Refund 3.33 of 20.00, buyer paid 12.00: buyer floor(333 × 1200 / 2000) = 199; the budgets 134, of which the
        // first-payment budget floor(134 × 300 / 800) = 50 and the coupon's 84.
        await RefundAsync(app, outTradeNo, "3.33", "R1");
        (await buyer.AvailableAsync()).ShouldBe(100_000 - 1_200 + 199);
        ShouldBalance(await GetAsync(first), 10_000, 300 - 50);
        ShouldBalance(await GetAsync(coupons), 10_000, 500 - 84);
        await Server.AssertLedgerOkAsync();

        // The rest: everyone exactly whole.
        await RefundAsync(app, outTradeNo, "16.67", "R2");
        (await buyer.AvailableAsync()).ShouldBe(100_000);
        ShouldBalance(await GetAsync(first), 10_000, 0);
        ShouldBalance(await GetAsync(coupons), 10_000, 0);
        (await Server.SettlementAsync(app.MerchantId)).Available.ShouldBe(0);
        await Server.AssertLedgerOkAsync();

        // A refunded first payment stays the first: the next payment takes no first-payment discount (the coupon came back and applies).
        var next = await PayAsync(buyer, app, "20.00");
        next["discount_amount"]!.GetValue<long>().ShouldBe(500);
    }

    [Fact]
    public async Task After_a_coupon_the_first_payment_discount_leaves_the_buyer_a_fen()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var coupons = (await CreateAsync(CouponCampaign(budget: 10_000, coupon: new { type = "fixed", amount = 500, stock = 5, valid_days = 7 },
            merchantIds: new[] { app.MerchantId })))["id"]!.GetValue<Guid>();
        var first = await FirstAsync(app.MerchantId, amount: 600, minSpend: 700);
        var buyer = await Server.BuyerAsync(100_000);
        await JsonAsync(await buyer.PostAsync("/v1/coupons", new { campaign_id = coupons }), HttpStatusCode.Created);
        var outTradeNo = "FP-" + Guid.NewGuid().ToString("N");
        var paid = await PayAsync(buyer, app, "10.00", outTradeNo);
        // 5.00 coupon, then at most 10.00 − 5.00 − 0.01 = 4.99 of the 6.00.
        paid["discount_amount"]!.GetValue<long>().ShouldBe(999);
        paid["pay_amount"]!.GetValue<long>().ShouldBe(1);
        ShouldBalance(await GetAsync(first), 10_000, 499);
        // Refund 3.33: buyer floor(333 × 1 / 1000) = 0, first-payment floor(333 × 499 / 999) = 166, coupon 167 (the budgets' leg carries the refund's id).
        await RefundAsync(app, outTradeNo, "3.33", "R1");
        (await buyer.AvailableAsync()).ShouldBe(100_000 - 1);
        ShouldBalance(await GetAsync(first), 10_000, 499 - 166);
        ShouldBalance(await GetAsync(coupons), 10_000, 500 - 167);
        await Server.AssertLedgerOkAsync();
        await RefundAsync(app, outTradeNo, "6.67", "R2");
        (await buyer.AvailableAsync()).ShouldBe(100_000);
        ShouldBalance(await GetAsync(first), 10_000, 0);
        ShouldBalance(await GetAsync(coupons), 10_000, 0);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Points_campaigns_multiply_earning_in_scope_and_the_largest_applies()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var other = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        foreach (var bps in new[] { 20_000, 30_000 })
            await CreateAsync(new Dictionary<string, object?>
            {
                ["name"] = "积分加倍", ["kind"] = "points", ["funding"] = new { source = "platform" }, ["budget"] = new { amount = 100, currency = "CNY" },
                ["starts_at"] = Time(TimeSpan.FromMinutes(-5)), ["ends_at"] = Time(TimeSpan.FromDays(60)), ["merchant_ids"] = new[] { app.MerchantId },
                ["points"] = new { multiplier_bps = bps },
            });
        var buyer = await Server.BuyerAsync(100_000);
        // 12.34 → floor(12.34) = 12 points × 3 (the larger campaign; they do not compound) = 36.
        await PayAsync(buyer, app, "12.34");
        await Poll.UntilAsync(async () => (await buyer.GetJsonAsync("/v1/points"))["balance"]!.GetValue<long>() > 0, "points earned");
        (await buyer.GetJsonAsync("/v1/points"))["balance"]!.GetValue<long>().ShouldBe(36);
        // Out of scope: ×1, 7 more.
        await PayAsync(buyer, other, "7.99");
        await Poll.UntilAsync(async () => (await buyer.GetJsonAsync("/v1/points"))["balance"]!.GetValue<long>() > 36, "points earned elsewhere");
        (await buyer.GetJsonAsync("/v1/points"))["balance"]!.GetValue<long>().ShouldBe(43);
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteFirstPaymentTests(SqliteClockedGatewayServer server) : FirstPaymentTests<SqliteClockedGatewayServer>(server);

public sealed class PostgresFirstPaymentTests(PostgresClockedGatewayServer server) : FirstPaymentTests<PostgresClockedGatewayServer>(server);
