using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Merchants;

/// <summary>The native merchant API: a merchant's own trades, refunds by role through the gateway's refund path, the day's statement.</summary>
public abstract class MerchantApiTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private GatewayServer Server { get; } = server;
    private HttpClient Http => Server.Http;

    /// <summary>A signed-up, approved shop with an app, its admin's token.</summary>
    private async Task<string> TradeAsync(MerchantApp app, long fen, WalletClient? payer)
    {
        var answer = (await Server.Caller(app).CallAsync("alipay.trade.precreate", new
        {
            out_trade_no = "MA-" + Guid.NewGuid().ToString("N"), total_amount = (fen / 100m).ToString("0.00", CultureInfo.InvariantCulture), subject = "商户接口",
        })).ShouldBe("10000");
        if (payer is null) return answer["out_trade_no"]!;
        var paid = await payer.PostAsync("/v1/qr-payments", new { qr_code = answer["qr_code"] });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        return (await paid.Content.ReadFromJsonAsync<JsonObject>())!["trade_no"]!.GetValue<string>();
    }

    private async Task<JsonObject> GetAsync(string token, string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await MerchantAccounts.SendAsync(Http, HttpMethod.Get, path, token);
        response.StatusCode.ShouldBe(expected, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private Task<HttpResponseMessage> RefundAsync(string token, string tradeNo, long amount, string? key) =>
        MerchantAccounts.SendAsync(Http, HttpMethod.Post, $"/merchant/v1/trades/{tradeNo}/refunds", token, new { amount, reason = "顾客退货" }, key);

    [Fact]
    public async Task A_merchant_lists_and_reads_only_its_own_trades_page_by_page()
    {
        var (appA, _, tokenA) = await Server.ShopAsync();
        var (appB, _, tokenB) = await Server.ShopAsync();
        var buyer = await Server.BuyerAsync(100_000);
        var paidA = new List<string>();
        for (var i = 0; i < 3; i++) paidA.Add(await TradeAsync(appA, 1_000 + i, buyer));
        await TradeAsync(appA, 500, payer: null); // waiting for the buyer
        var tradeB = await TradeAsync(appB, 2_000, buyer);

        var all = (await GetAsync(tokenA, "/merchant/v1/trades"))["items"]!.AsArray();
        all.Count.ShouldBe(4);
        all.Select(t => t!["trade_no"]!.GetValue<string>()).ShouldNotContain(tradeB);
        var success = (await GetAsync(tokenA, "/merchant/v1/trades?status=TRADE_SUCCESS"))["items"]!.AsArray();
        success.Select(t => t!["trade_no"]!.GetValue<string>()).Order().ShouldBe(paidA.Order());
        (await GetAsync(tokenA, "/merchant/v1/trades?status=WAIT_BUYER_PAY"))["items"]!.AsArray().Single()!["total_amount"]!.GetValue<long>().ShouldBe(500);

        var first = await GetAsync(tokenA, "/merchant/v1/trades?limit=3");
        first["items"]!.AsArray().Count.ShouldBe(3);
        var cursor = first["next_cursor"]!.GetValue<string>();
        var second = await GetAsync(tokenA, "/merchant/v1/trades?limit=3&cursor=" + cursor);
        second["items"]!.AsArray().Count.ShouldBe(1);
        second["next_cursor"].ShouldBeNull();
        first["items"]!.AsArray().Concat(second["items"]!.AsArray()).Select(t => t!["trade_no"]!.GetValue<string>()).Distinct().Count().ShouldBe(4);
        var future = DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        (await GetAsync(tokenA, "/merchant/v1/trades?from=" + future))["items"]!.AsArray().ShouldBeEmpty();
        (await GetAsync(tokenA, "/merchant/v1/trades?to=" + future))["items"]!.AsArray().Count.ShouldBe(4);

        var detail = await GetAsync(tokenA, "/merchant/v1/trades/" + paidA[0]);
        detail["trade"]!["status"]!.GetValue<string>().ShouldBe("TRADE_SUCCESS");
        detail["trade"]!["total_amount"]!.GetValue<long>().ShouldBe(1_000);
        // Another merchant's trade is not there at all, for reading as for refunding.
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/trades/" + tradeB, tokenA)).ShouldBeProblemAsync(404, "not_found");
        await (await RefundAsync(tokenA, tradeB, 100, "k-" + Guid.NewGuid())).ShouldBeProblemAsync(404, "not_found");
        (await GetAsync(tokenB, "/merchant/v1/trades/" + tradeB))["trade"]!["trade_no"]!.GetValue<string>().ShouldBe(tradeB);

        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/trades?status=PAID", tokenA)).ShouldBeProblemAsync(400, "invalid_status");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/trades?limit=0", tokenA)).ShouldBeProblemAsync(400, "invalid_limit");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/trades?cursor=%%%", tokenA)).ShouldBeProblemAsync(400, "invalid_cursor");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/trades?from=yesterday", tokenA)).ShouldBeProblemAsync(400, "invalid_time");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/trades", "qbm1.garbage.garbage")).ShouldBeProblemAsync(401, "unauthorized");
    }

    [Fact]
    public async Task Refunds_take_the_gateway_path_once_per_key_and_a_cashier_is_held_to_the_maximum()
    {
        var (app, admin, adminToken) = await Server.ShopAsync();
        var cashier = await MerchantAccounts.AddStaffAsync(Http, adminToken, admin.MerchantId, "cashier");
        var analyst = await MerchantAccounts.AddStaffAsync(Http, adminToken, admin.MerchantId, "analyst");
        var cashierToken = await MerchantAccounts.LoginAsync(Http, cashier);
        var analystToken = await MerchantAccounts.LoginAsync(Http, analyst);
        var buyer = await Server.BuyerAsync(200_000);
        var tradeNo = await TradeAsync(app, 80_000, buyer); // ¥800, above the cashier's ¥500
        var unpaid = await TradeAsync(app, 900, payer: null);
        var buyerBefore = await buyer.AvailableAsync();

        await (await RefundAsync(cashierToken, tradeNo, 60_000, "over-max")).ShouldBeProblemAsync(403, "cashier_refund_limit");
        await (await RefundAsync(analystToken, tradeNo, 1_000, "analyst")).ShouldBeProblemAsync(403, "forbidden");
        await (await RefundAsync(cashierToken, tradeNo, 1_000, null)).ShouldBeProblemAsync(400, "idempotency_key_missing");
        await (await RefundAsync(cashierToken, tradeNo, 0, "zero")).ShouldBeProblemAsync(400, "invalid_amount");
        (await buyer.AvailableAsync()).ShouldBe(buyerBefore, "nothing moved on a refusal");

        var key = "refund-" + Guid.NewGuid();
        var first = await RefundAsync(cashierToken, tradeNo, 10_000, key);
        first.StatusCode.ShouldBe(HttpStatusCode.Created, await first.Content.ReadAsStringAsync());
        (await first.Content.ReadFromJsonAsync<JsonObject>())!["refunded_amount"]!.GetValue<long>().ShouldBe(10_000);
        var again = await RefundAsync(cashierToken, tradeNo, 10_000, key);
        again.StatusCode.ShouldBe(HttpStatusCode.OK, await again.Content.ReadAsStringAsync());
        await (await RefundAsync(cashierToken, tradeNo, 9_000, key)).ShouldBeProblemAsync(422, "idempotency_key_reused");
        (await buyer.AvailableAsync()).ShouldBe(buyerBefore + 10_000);

        // The admin may refund beyond the cashier's maximum; not beyond what is left.
        await (await RefundAsync(adminToken, tradeNo, 70_001, "too-much")).ShouldBeProblemAsync(422, "refund_exceeds_paid");
        (await RefundAsync(adminToken, tradeNo, 70_000, "rest")).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await GetAsync(adminToken, "/merchant/v1/trades/" + tradeNo))["trade"]!["status"]!.GetValue<string>().ShouldBe("TRADE_CLOSED");
        await (await RefundAsync(adminToken, tradeNo, 1, "closed")).ShouldBeProblemAsync(422, "trade_not_refundable");
        var unpaidNo = (await GetAsync(adminToken, "/merchant/v1/trades?status=WAIT_BUYER_PAY"))["items"]!.AsArray().Single()!["trade_no"]!.GetValue<string>();
        _ = unpaid;
        await (await RefundAsync(adminToken, unpaidNo, 100, "unpaid")).ShouldBeProblemAsync(422, "trade_not_refundable");
        (await buyer.AvailableAsync()).ShouldBe(buyerBefore + 80_000);
        var detail = await GetAsync(analystToken, "/merchant/v1/trades/" + tradeNo);
        detail["refunds"]!.AsArray().Select(r => r!["amount"]!.GetValue<long>()).Order().ShouldBe([10_000L, 70_000L]);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task The_days_statement_adds_up_payments_refunds_fees_and_payouts()
    {
        var (app, admin, adminToken) = await Server.ShopAsync();
        var buyer = await Server.BuyerAsync(100_000);
        var t1 = await TradeAsync(app, 20_000, buyer);
        await TradeAsync(app, 30_000, buyer);
        (await RefundAsync(adminToken, t1, 5_000, "part")).StatusCode.ShouldBe(HttpStatusCode.Created);
        var payout = await Server.OperatorSendAsync(HttpMethod.Post, $"/admin/v1/merchants/{admin.MerchantId}/payouts",
            new { amount = 10_000, currency = "CNY" }, "payout-" + Guid.NewGuid());
        payout.StatusCode.ShouldBe(HttpStatusCode.Accepted, await payout.Content.ReadAsStringAsync());

        // The China-time day the first payment fell on (not the test's clock: a run across midnight would ask the wrong day).
        var paidAt = (await GetAsync(adminToken, "/merchant/v1/trades/" + t1))["trade"]!["paid_at"]!.GetValue<DateTimeOffset>().ToOffset(TimeSpan.FromHours(8));
        var today = paidAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var s = await GetAsync(adminToken, "/merchant/v1/settlements?date=" + today);
        s["payments"]!["count"]!.GetValue<long>().ShouldBe(2);
        s["payments"]!["amount"]!.GetValue<long>().ShouldBe(50_000);
        s["refunds"]!["count"]!.GetValue<long>().ShouldBe(1);
        s["refunds"]!["amount"]!.GetValue<long>().ShouldBe(5_000);
        // 60 bps of each payment (120 + 180), less the fee on the refunded quarter of the first (30).
        s["fees"]!.GetValue<long>().ShouldBe(270);
        s["net"]!.GetValue<long>().ShouldBe(50_000 - 5_000 - 270);
        s["payouts"]!["count"]!.GetValue<long>().ShouldBe(1);
        s["payouts"]!["amount"]!.GetValue<long>().ShouldBe(10_000);
        var yesterday = paidAt.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        (await GetAsync(adminToken, "/merchant/v1/settlements?date=" + yesterday))["payments"]!["count"]!.GetValue<long>().ShouldBe(0);
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/settlements?date=2026-13-01", adminToken)).ShouldBeProblemAsync(400, "invalid_date");
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteMerchantApiTests(SqliteGatewayServer server) : MerchantApiTests<SqliteGatewayServer>(server);

public sealed class PostgresMerchantApiTests(PostgresGatewayServer server) : MerchantApiTests<PostgresGatewayServer>(server);
