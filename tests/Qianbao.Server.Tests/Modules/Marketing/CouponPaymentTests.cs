using System.Net;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Modules.Marketing;

/// <summary>
/// Coupons applied at payment: the best one automatically or the one named, exact amounts, one use under concurrent
/// payments, a budget exhausted exactly and never overspent, proportional refunds ending in exact full returns and the
/// coupon back, and the gateway's amounts. The ledger check passes after each.
/// </summary>
public abstract class CouponPaymentTests<TServer>(TServer server) : CampaignTestBase(server), IClassFixture<TServer> where TServer : ClockedGatewayServer
{
    private async Task<(MerchantApp App, Guid Campaign, Guid Coupon, WalletClient Buyer)> SetUpAsync(object coupon, long budget = 10_000, long buyerFen = 100_000)
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 60);
        var campaign = (await CreateAsync(CouponCampaign(budget: budget, coupon: coupon, merchantIds: new[] { app.MerchantId })))["id"]!.GetValue<Guid>();
        var buyer = await Server.BuyerAsync(buyerFen);
        var id = (await JsonAsync(await buyer.PostAsync("/v1/coupons", new { campaign_id = campaign }), HttpStatusCode.Created))["id"]!.GetValue<Guid>();
        return (app, campaign, id, buyer);
    }

    private async Task<string> QrAsync(MerchantApp app, string total, string? outTradeNo = null) =>
        (await Server.Caller(app).CallAsync("alipay.trade.precreate",
            new { out_trade_no = outTradeNo ?? "CP-" + Guid.NewGuid().ToString("N"), total_amount = total, subject = "咖啡" })).ShouldBe("10000")["qr_code"]!;

    private static async Task<JsonObject> PaidAsync(HttpResponseMessage response) => await JsonAsync(response, HttpStatusCode.OK);

    [Fact]
    public async Task The_best_coupon_is_applied_the_merchant_gets_the_total_and_refunds_unwind_in_proportion_to_an_exact_full_return()
    {
        var (app, campaign, coupon, buyer) = await SetUpAsync(new { type = "fixed", amount = 500, stock = 5, valid_days = 7 });
        var outTradeNo = "CP-" + Guid.NewGuid().ToString("N");
        var paid = await PaidAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = await QrAsync(app, "10.00", outTradeNo) }));
        paid["amount"]!.GetValue<long>().ShouldBe(1_000);
        paid["discount_amount"]!.GetValue<long>().ShouldBe(500);
        paid["pay_amount"]!.GetValue<long>().ShouldBe(500);
        paid["points_used"]!.GetValue<long>().ShouldBe(0);
        paid["coupons"]!.AsArray().Select(c => (c!["id"]!.GetValue<Guid>(), c["amount"]!.GetValue<long>())).ShouldBe([(coupon, 500L)]);
        (await buyer.AvailableAsync()).ShouldBe(100_000 - 500);
        // The merchant is credited the total, less the fee on the total (1000 × 0.6% = 6).
        (await Server.SettlementAsync(app.MerchantId)).Available.ShouldBe(1_000 - 6);
        var view = await GetAsync(campaign);
        ShouldBalance(view, 10_000, 500);
        view["coupons"]!["used"]!.GetValue<int>().ShouldBe(1);
        (await buyer.GetJsonAsync("/v1/coupons?status=used"))["items"]!.AsArray().Count.ShouldBe(1);
        await Server.AssertLedgerOkAsync();

        // The gateway reports what the buyer paid and the platform-funded voucher.
        var query = (await Server.Caller(app).CallAsync("alipay.trade.query", new { out_trade_no = outTradeNo })).ShouldBe("10000");
        query["total_amount"]!.ShouldBe("10.00");
        query["buyer_pay_amount"]!.ShouldBe("5.00");
        query["receipt_amount"]!.ShouldBe("10.00");
        query["invoice_amount"]!.ShouldBe("5.00");
        query["point_amount"]!.ShouldBe("0.00");
        var voucher = JsonNode.Parse(query["voucher_detail_list"]!.ToString()!)!.AsArray().Single()!;
        voucher["id"]!.GetValue<string>().ShouldBe(coupon.ToString("N"));
        voucher["amount"]!.GetValue<string>().ShouldBe("5.00");
        voucher["merchant_contribute"]!.GetValue<string>().ShouldBe("0.00");
        voucher["other_contribute"]!.GetValue<string>().ShouldBe("5.00");

        // Refund 3.33 of 10.00 where the buyer paid 5.00: floor(333 × 500 / 1000) = 166 to the buyer, 167 to the budget.
        (await Server.Caller(app).CallAsync("alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "3.33", out_request_no = "R1" }))
            .ShouldBe("10000");
        (await buyer.AvailableAsync()).ShouldBe(100_000 - 500 + 166);
        ShouldBalance(await GetAsync(campaign), 10_000, 500 - 167);
        await Server.AssertLedgerOkAsync();

        // The rest: the buyer has exactly 500 back, the budget exactly the discount, and the coupon is available again.
        (await Server.Caller(app).CallAsync("alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "6.67", out_request_no = "R2" }))
            .ShouldBe("10000");
        (await buyer.AvailableAsync()).ShouldBe(100_000);
        view = await GetAsync(campaign);
        ShouldBalance(view, 10_000, 0);
        view["coupons"]!["used"]!.GetValue<int>().ShouldBe(0);
        view["coupons"]!["returned"]!.GetValue<int>().ShouldBe(1);
        (await buyer.GetJsonAsync("/v1/coupons?status=available"))["items"]!.AsArray().Select(c => c!["id"]!.GetValue<Guid>()).ShouldBe([coupon]);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Percent_caps_thresholds_none_and_a_named_unusable_coupon_give_exact_amounts()
    {
        // 10% capped at 8.00: on 99.99 floor(999.9) = 999 → 800.
        var (app, _, percent, buyer) = await SetUpAsync(new { type = "percent", percent_bps = 1_000, cap = 800, stock = 5, valid_days = 7 });
        // "none" pays the whole total; a named coupon id that is not usable is 422 and moves nothing.
        var none = await PaidAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = await QrAsync(app, "99.99"), coupon_id = "none" }));
        none["discount_amount"]!.GetValue<long>().ShouldBe(0);
        none["pay_amount"]!.GetValue<long>().ShouldBe(9_999);
        var before = await buyer.AvailableAsync();
        using (var bad = await buyer.PostAsync("/v1/qr-payments", new { qr_code = await QrAsync(app, "99.99"), coupon_id = Guid.NewGuid().ToString() }))
            await bad.ShouldBeProblemAsync(422, "coupon_not_usable");
        using (var bad = await buyer.PostAsync("/v1/qr-payments", new { qr_code = await QrAsync(app, "99.99"), coupon_id = "some" }))
            await bad.ShouldBeProblemAsync(400, "invalid_coupon_id");
        (await buyer.AvailableAsync()).ShouldBe(before);
        var capped = await PaidAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = await QrAsync(app, "99.99"), coupon_id = percent.ToString() }));
        capped["discount_amount"]!.GetValue<long>().ShouldBe(800);
        capped["pay_amount"]!.GetValue<long>().ShouldBe(9_199);

        // A threshold coupon: 20.00 off from 100.00 exactly; 99.99 pays in full.
        var (app2, _, _, buyer2) = await SetUpAsync(new { type = "threshold", amount = 2_000, min_spend = 10_000, stock = 5, valid_days = 7 });
        (await PaidAsync(await buyer2.PostAsync("/v1/qr-payments", new { qr_code = await QrAsync(app2, "99.99") })))["discount_amount"]!.GetValue<long>()
            .ShouldBe(0);
        var edge = await PaidAsync(await buyer2.PostAsync("/v1/qr-payments", new { qr_code = await QrAsync(app2, "100.00") }));
        edge["discount_amount"]!.GetValue<long>().ShouldBe(2_000);
        edge["pay_amount"]!.GetValue<long>().ShouldBe(8_000);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_coupon_is_used_once_under_concurrent_payments()
    {
        var (app, campaign, _, buyer) = await SetUpAsync(new { type = "fixed", amount = 300, stock = 5, valid_days = 7 });
        var qrs = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => QrAsync(app, "10.00")));
        var paid = await Task.WhenAll(qrs.Select(async qr => await PaidAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr }))));
        paid.Select(p => p["discount_amount"]!.GetValue<long>()).Sum().ShouldBe(300);
        paid.Count(p => p["discount_amount"]!.GetValue<long>() == 300).ShouldBe(1);
        (await buyer.AvailableAsync()).ShouldBe(100_000 - 6 * 1_000 + 300);
        var view = await GetAsync(campaign);
        ShouldBalance(view, 10_000, 300);
        view["coupons"]!["used"]!.GetValue<int>().ShouldBe(1);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_budget_is_exhausted_exactly_by_concurrent_payments_and_never_overspent()
    {
        // Budget for two discounts of 5.00; five buyers each hold a coupon and pay at once.
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var campaign = (await CreateAsync(CouponCampaign(budget: 1_000, coupon: new { type = "fixed", amount = 500, stock = 5, valid_days = 7 },
            merchantIds: new[] { app.MerchantId })))["id"]!.GetValue<Guid>();
        var buyers = new List<WalletClient>();
        for (var i = 0; i < 5; i++)
        {
            var b = await Server.BuyerAsync(10_000);
            await JsonAsync(await b.PostAsync("/v1/coupons", new { campaign_id = campaign }), HttpStatusCode.Created);
            buyers.Add(b);
        }
        var qrs = await Task.WhenAll(buyers.Select(_ => QrAsync(app, "10.00")));
        var paid = await Task.WhenAll(buyers.Select(async (b, i) => await PaidAsync(await b.PostAsync("/v1/qr-payments", new { qr_code = qrs[i] }))));
        paid.Count(p => p["discount_amount"]!.GetValue<long>() == 500).ShouldBe(2);
        paid.Count(p => p["discount_amount"]!.GetValue<long>() == 0).ShouldBe(3);
        var view = await GetAsync(campaign);
        ShouldBalance(view, 1_000, 1_000);
        view["coupons"]!["used"]!.GetValue<int>().ShouldBe(2);
        (await Server.SettlementAsync(app.MerchantId)).Available.ShouldBe(5 * 1_000);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task The_preview_shows_the_coupon_a_payment_would_apply_and_the_trade_pay_takes_the_named_one()
    {
        var (app, _, coupon, buyer) = await SetUpAsync(new { type = "fixed", amount = 250, stock = 5, valid_days = 7 });
        var qr = await QrAsync(app, "12.34");
        var preview = await JsonAsync(await buyer.PostAsync("/v1/qr-codes/resolve", new { qr_code = qr }), HttpStatusCode.OK);
        preview["amount"]!.GetValue<long>().ShouldBe(1_234);
        preview["status"]!.GetValue<string>().ShouldBe("WAIT_BUYER_PAY");
        preview["merchant"]!["id"]!.GetValue<Guid>().ShouldBe(app.MerchantId);
        preview["merchant"]!["name"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        preview["discount"]!["coupon_id"]!.GetValue<Guid>().ShouldBe(coupon);
        preview["discount"]!["amount"]!.GetValue<long>().ShouldBe(250);
        preview["pay_amount"]!.GetValue<long>().ShouldBe(984);
        preview["points"]!["usable_max"]!.GetValue<long>().ShouldBe(0);
        // Previewing moves and reserves nothing.
        (await buyer.AvailableAsync()).ShouldBe(100_000);
        await (await buyer.PostAsync("/v1/qr-codes/resolve", new { qr_code = "https://qr.example/none" })).ShouldBeProblemAsync(404, "not_found");

        // A trade created for this buyer: previewed by number, paid with the coupon named; a stranger sees nothing.
        var outTradeNo = "CP-" + Guid.NewGuid().ToString("N");
        var tradeNo = (await Server.Caller(app).CallAsync("alipay.trade.create",
            new { out_trade_no = outTradeNo, total_amount = "5.00", subject = "面包", buyer_id = buyer.UserId.ToString() })).ShouldBe("10000")["trade_no"]!;
        var byNo = await buyer.GetJsonAsync($"/v1/trades/{tradeNo}");
        byNo["discount"]!["amount"]!.GetValue<long>().ShouldBe(250);
        byNo["pay_amount"]!.GetValue<long>().ShouldBe(250);
        var stranger = await Server.BuyerAsync(0);
        await (await stranger.GetAsync($"/v1/trades/{tradeNo}")).ShouldBeProblemAsync(404, "not_found");
        var paid = await PaidAsync(await buyer.PostAsync($"/v1/trades/{tradeNo}/pay", new { coupon_id = coupon.ToString() }));
        paid["discount_amount"]!.GetValue<long>().ShouldBe(250);
        paid["pay_amount"]!.GetValue<long>().ShouldBe(250);
        // Used now: the QR trade's preview has no coupon left, and naming it is refused.
        (await JsonAsync(await buyer.PostAsync("/v1/qr-codes/resolve", new { qr_code = qr }), HttpStatusCode.OK))["discount"].ShouldBeNull();
        await (await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr, coupon_id = coupon.ToString() })).ShouldBeProblemAsync(422, "coupon_not_usable");
        (await buyer.GetJsonAsync($"/v1/trades/{tradeNo}"))["discount"]!["amount"]!.GetValue<long>().ShouldBe(250);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_refund_after_the_campaign_stopped_passes_the_budget_share_on_to_the_funder()
    {
        var spendBefore = await PlatformSpendAsync();
        var (app, campaign, _, buyer) = await SetUpAsync(new { type = "fixed", amount = 400, stock = 5, valid_days = 7 }, budget: 2_000);
        var outTradeNo = "CP-" + Guid.NewGuid().ToString("N");
        (await PaidAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = await QrAsync(app, "8.00", outTradeNo) })))["pay_amount"]!
            .GetValue<long>().ShouldBe(400);
        var stopped = await StopAsync(campaign);
        stopped["budget"]!["returned"]!.GetValue<long>().ShouldBe(1_600);
        (await PlatformSpendAsync()).ShouldBe(spendBefore + 400);

        (await Server.Caller(app).CallAsync("alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "8.00", out_request_no = "R1" }))
            .ShouldBe("10000");
        (await buyer.AvailableAsync()).ShouldBe(100_000);
        var view = await GetAsync(campaign);
        ShouldBalance(view, 2_000, 0);
        view["budget"]!["returned"]!.GetValue<long>().ShouldBe(2_000);
        (await PlatformSpendAsync()).ShouldBe(spendBefore);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Bar_code_payments_through_the_gateway_apply_the_best_coupon_and_report_a_merchant_funded_voucher()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        // The merchant funds its own campaign from its settlement balance: sell something first.
        var seed = await Server.BuyerAsync(100_000);
        using (var sold = await seed.PostAsync("/v1/qr-payments", new { qr_code = await QrAsync(app, "50.00") }))
            sold.StatusCode.ShouldBe(HttpStatusCode.OK);
        var campaign = (await CreateAsync(CouponCampaign(budget: 1_000, coupon: new { type = "fixed", amount = 300, stock = 5, valid_days = 7 },
            funding: new { source = "merchant", merchant_id = app.MerchantId }, merchantIds: new[] { app.MerchantId })))["id"]!.GetValue<Guid>();
        var buyer = await Server.BuyerAsync(10_000);
        var coupon = (await JsonAsync(await buyer.PostAsync("/v1/coupons", new { campaign_id = campaign }), HttpStatusCode.Created))["id"]!.GetValue<Guid>();
        var code = (await JsonAsync(await buyer.PostAsync("/v1/payment-codes", new { }), HttpStatusCode.Created))["code"]!.GetValue<string>();
        var outTradeNo = "CP-" + Guid.NewGuid().ToString("N");
        var pay = (await Server.Caller(app).CallAsync("alipay.trade.pay",
            new { out_trade_no = outTradeNo, scene = "bar_code", auth_code = code, total_amount = "10.00", subject = "午餐" })).ShouldBe("10000");
        pay["buyer_pay_amount"]!.ShouldBe("7.00");
        // The merchant funded the discount itself: it received 10.00 less its own 3.00.
        pay["receipt_amount"]!.ShouldBe("7.00");
        var voucher = JsonNode.Parse(pay["voucher_detail_list"]!.ToString()!)!.AsArray().Single()!;
        voucher["id"]!.GetValue<string>().ShouldBe(coupon.ToString("N"));
        voucher["merchant_contribute"]!.GetValue<string>().ShouldBe("3.00");
        voucher["other_contribute"]!.GetValue<string>().ShouldBe("0.00");
        (await buyer.AvailableAsync()).ShouldBe(10_000 - 700);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Points_are_earned_on_what_the_buyer_paid_not_on_the_discount()
    {
        var (app, _, _, buyer) = await SetUpAsync(new { type = "fixed", amount = 700, stock = 5, valid_days = 7 });
        (await PaidAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = await QrAsync(app, "19.99") })))["pay_amount"]!.GetValue<long>()
            .ShouldBe(1_299);
        // floor(12.99 yuan × 1) = 12 points, not 19.
        await Poll.UntilAsync(async () => (await buyer.GetJsonAsync("/v1/points"))["balance"]!.GetValue<long>() > 0, "points earned");
        (await buyer.GetJsonAsync("/v1/points"))["balance"]!.GetValue<long>().ShouldBe(12);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_frozen_royalty_trade_with_a_coupon_refunds_in_proportion_and_keeps_the_rest_frozen()
    {
        var (app, campaign, _, buyer) = await SetUpAsync(new { type = "fixed", amount = 1_000, stock = 5, valid_days = 7 });
        var outTradeNo = "CP-" + Guid.NewGuid().ToString("N");
        var qr = (await Server.Caller(app).CallAsync("alipay.trade.precreate", new
        {
            out_trade_no = outTradeNo, total_amount = "30.00", subject = "冻结", extend_params = new { royalty_freeze = "true" },
        })).ShouldBe("10000")["qr_code"]!;
        (await PaidAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr })))["pay_amount"]!.GetValue<long>().ShouldBe(2_000);
        // Fee 30.00 × 0.6% = 18; the rest frozen.
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((0L, 3_000L - 18));
        // Refund 10.00: floor(1000 × 2000 / 3000) = 666 to the buyer, 334 to the budget.
        (await Server.Caller(app).CallAsync("alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "10.00", out_request_no = "R1" }))
            .ShouldBe("10000");
        (await buyer.AvailableAsync()).ShouldBe(100_000 - 2_000 + 666);
        ShouldBalance(await GetAsync(campaign), 10_000, 1_000 - 334);
        await Server.AssertLedgerOkAsync();
        (await Server.Caller(app).CallAsync("alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "20.00", out_request_no = "R2" }))
            .ShouldBe("10000");
        (await buyer.AvailableAsync()).ShouldBe(100_000);
        ShouldBalance(await GetAsync(campaign), 10_000, 0);
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((0L, 0L));
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteCouponPaymentTests(SqliteClockedGatewayServer server) : CouponPaymentTests<SqliteClockedGatewayServer>(server);

public sealed class PostgresCouponPaymentTests(PostgresClockedGatewayServer server) : CouponPaymentTests<PostgresClockedGatewayServer>(server);
