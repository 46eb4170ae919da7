using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Qianbao.Ledger;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Points;

/// <summary>A points server where a yuan paid earns 100 points, so a buyer has points to redeem after one small payment.</summary>
public abstract class RedemptionServer(DatabaseEngine engine) : PointsServer(engine)
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Qianbao:Marketing:PointsPerYuan", "100");
    }
}

public sealed class SqliteRedemptionServer() : RedemptionServer(DatabaseEngine.Sqlite);

public sealed class PostgresRedemptionServer() : RedemptionServer(DatabaseEngine.Postgres);

/// <summary>
/// Redeeming points at payment (100 points = ¥1, at most half the total): cap edges, bad counts refused with nothing moved, the
/// payment's amounts, the gateway's point_amount, and refunds giving back the CNY share and the points in proportion, partial
/// then full, ending exactly. The ledger check passes after each step.
/// </summary>
public abstract class PointsRedemptionTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : RedemptionServer
{
    private TServer Server { get; } = server;

    private static readonly Guid PointsBudget = ChartOfAccounts.PointsDiscountExpense(Currency.Cny).Id.Value;
    private static readonly Guid Redeemed = ChartOfAccounts.PointsRedeemed().Id.Value;

    /// <summary>What the platform's points budget has paid, net (a debit-normal account's debit balance).</summary>
    private Task<long> PointsBudgetSpentAsync() =>
        Server.CountAsync("SELECT COALESCE(SUM(debits_posted - credits_posted), 0) FROM accounts WHERE id = @id", new { id = PointsBudget });

    private Task<long> RedeemedAsync() =>
        Server.CountAsync("SELECT COALESCE(SUM(credits_posted - debits_posted), 0) FROM accounts WHERE id = @id", new { id = Redeemed });

    private async Task<(MerchantApp App, WalletClient Buyer)> BuyerWithPointsAsync()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var buyer = await Server.BuyerAsync(100_000);
        // ¥10.00 paid earns 1000 points.
        await Server.PayAsync(app, buyer, "10.00");
        await PointsServer.BalanceEventuallyAsync(buyer, 1_000);
        return (app, buyer);
    }

    private async Task<string> QrAsync(MerchantApp app, string yuan, string outTradeNo) =>
        (await Server.CallAsync(app, "alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = yuan, subject = "积分抵扣" }))
            .ShouldBe("10000")["qr_code"]!;

    private static async Task<JsonObject> JsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    [Fact]
    public async Task Points_pay_up_to_half_the_total_and_refunds_return_them_and_their_worth_in_proportion()
    {
        var (app, buyer) = await BuyerWithPointsAsync();
        var walletBefore = await buyer.AvailableAsync();
        var spentBefore = await PointsBudgetSpentAsync();
        var redeemedBefore = await RedeemedAsync();
        var outTradeNo = "PR-" + Guid.NewGuid().ToString("N");
        var qr = await QrAsync(app, "10.01", outTradeNo);

        // Half of 10.01 is 5.00 (floored to the fen): 500 points at most, though 1000 are there.
        var preview = await JsonAsync(await buyer.PostAsync("/v1/qr-codes/resolve", new { qr_code = qr }), HttpStatusCode.OK);
        preview["points"]!["balance"]!.GetValue<long>().ShouldBe(1_000);
        preview["points"]!["usable_max"]!.GetValue<long>().ShouldBe(500);

        // Refusals move nothing.
        await (await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr, use_points = 501 })).ShouldBeProblemAsync(422, "points_not_usable");
        await (await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr, use_points = -1 })).ShouldBeProblemAsync(400, "invalid_use_points");
        (await buyer.AvailableAsync()).ShouldBe(walletBefore);
        (await PointsServer.BalanceAsync(buyer)).ShouldBe(1_000);

        var paid = await JsonAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr, use_points = 500 }), HttpStatusCode.OK);
        paid["amount"]!.GetValue<long>().ShouldBe(1_001);
        paid["discount_amount"]!.GetValue<long>().ShouldBe(0);
        paid["points_used"]!.GetValue<long>().ShouldBe(500);
        paid["points_amount"]!.GetValue<long>().ShouldBe(500);
        paid["pay_amount"]!.GetValue<long>().ShouldBe(501);
        (await buyer.AvailableAsync()).ShouldBe(walletBefore - 501);
        (await PointsBudgetSpentAsync()).ShouldBe(spentBefore + 500);
        (await RedeemedAsync()).ShouldBe(redeemedBefore + 500);
        // 500 left, and the 5.01 paid earns 501.
        await PointsServer.BalanceEventuallyAsync(buyer, 1_001);
        var tradeNo = paid["trade_no"]!.GetValue<string>();
        var seen = await buyer.GetJsonAsync($"/v1/trades/{tradeNo}");
        seen["points_used"]!.GetValue<long>().ShouldBe(500);
        seen["pay_amount"]!.GetValue<long>().ShouldBe(501);

        var query = (await Server.CallAsync(app, "alipay.trade.query", new { out_trade_no = outTradeNo })).ShouldBe("10000");
        query["total_amount"]!.ShouldBe("10.01");
        query["point_amount"]!.ShouldBe("5.00");
        query["buyer_pay_amount"]!.ShouldBe("5.01");
        query["invoice_amount"]!.ShouldBe("5.01");
        query["receipt_amount"]!.ShouldBe("10.01");
        await Server.AssertLedgerOkAsync();

        // Refund 3.33 of 10.01 (buyer paid 5.01, points 5.00): the buyer floor(333 × 501 / 1001) = 166, the points budget 167;
        // points back floor(333 × 500 / 1001) = 166; the earning's clawback floor(501 × 333 / 1001) = 166.
        (await Server.CallAsync(app, "alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "3.33", out_request_no = "R1" })).ShouldBe("10000");
        (await buyer.AvailableAsync()).ShouldBe(walletBefore - 501 + 166);
        (await PointsBudgetSpentAsync()).ShouldBe(spentBefore + 500 - 167);
        (await RedeemedAsync()).ShouldBe(redeemedBefore + 500 - 166);
        await PointsServer.BalanceEventuallyAsync(buyer, 1_001 + 166 - 166);
        await Server.AssertLedgerOkAsync();

        // The rest: the buyer has exactly 5.01 back, the budget exactly 5.00, the redeemed points all 500, the earning all clawed back.
        (await Server.CallAsync(app, "alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "6.68", out_request_no = "R2" })).ShouldBe("10000");
        (await buyer.AvailableAsync()).ShouldBe(walletBefore);
        (await PointsBudgetSpentAsync()).ShouldBe(spentBefore);
        (await RedeemedAsync()).ShouldBe(redeemedBefore);
        await PointsServer.BalanceEventuallyAsync(buyer, 1_000);
        (await PointsServer.PointsAsync(buyer))["items"]!.AsArray().Count(i => i!["type"]?.GetValue<string>() == "redemption_return").ShouldBe(2);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Points_after_a_small_total_leave_the_buyer_a_fen_and_a_trade_pay_takes_them()
    {
        var (app, buyer) = await BuyerWithPointsAsync();
        // 0.01: half is 0 fen, and nothing may be left unpaid: no points at all.
        var tiny = "PR-" + Guid.NewGuid().ToString("N");
        var qr = await QrAsync(app, "0.01", tiny);
        (await JsonAsync(await buyer.PostAsync("/v1/qr-codes/resolve", new { qr_code = qr }), HttpStatusCode.OK))["points"]!["usable_max"]!
            .GetValue<long>().ShouldBe(0);
        await (await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr, use_points = 1 })).ShouldBeProblemAsync(422, "points_not_usable");

        // A trade created for the buyer, 0.03: half is 1 fen → 1 point; paid through /v1/trades/{no}/pay.
        var tradeNo = (await Server.CallAsync(app, "alipay.trade.create", new
        {
            out_trade_no = "PR-" + Guid.NewGuid().ToString("N"), total_amount = "0.03", subject = "小额", buyer_id = buyer.UserId.ToString(),
        })).ShouldBe("10000")["trade_no"]!;
        (await buyer.GetJsonAsync($"/v1/trades/{tradeNo}"))["points"]!["usable_max"]!.GetValue<long>().ShouldBe(1);
        await (await buyer.PostAsync($"/v1/trades/{tradeNo}/pay", new { use_points = 2 })).ShouldBeProblemAsync(422, "points_not_usable");
        var paid = await JsonAsync(await buyer.PostAsync($"/v1/trades/{tradeNo}/pay", new { use_points = 1 }), HttpStatusCode.OK);
        paid["points_amount"]!.GetValue<long>().ShouldBe(1);
        paid["pay_amount"]!.GetValue<long>().ShouldBe(2);
        await PointsServer.BalanceEventuallyAsync(buyer, 999 + 2);
        await Server.AssertLedgerOkAsync();
    }

    private async Task<JsonObject> OperatorAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new("Bearer", GatewayServer.OperatorKey);
        if (body is not null) request.Content = System.Net.Http.Json.JsonContent.Create(body);
        if (method == HttpMethod.Post) request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        return await JsonAsync(await Server.Http.SendAsync(request), method == HttpMethod.Post ? HttpStatusCode.Created : HttpStatusCode.OK);
    }

    private async Task<long> CampaignSpentAsync(Guid id) => (await OperatorAsync(HttpMethod.Get, $"/admin/v1/campaigns/{id}"))["budget"]!["spent"]!.GetValue<long>();

    [Fact]
    public async Task Points_come_after_a_coupon_and_refunds_split_between_buyer_points_budget_and_campaign_exactly()
    {
        var (app, buyer) = await BuyerWithPointsAsync();
        var now = Server.Clock.GetUtcNow();
        var campaign = (await OperatorAsync(HttpMethod.Post, "/admin/v1/campaigns", new Dictionary<string, object?>
        {
            ["name"] = "券加积分", ["kind"] = "coupon", ["funding"] = new { source = "platform" }, ["budget"] = new { amount = 10_000, currency = "CNY" },
            ["starts_at"] = (now - TimeSpan.FromMinutes(5)).ToString("O"), ["ends_at"] = (now + TimeSpan.FromDays(30)).ToString("O"),
            ["merchant_ids"] = new[] { app.MerchantId }, ["coupon"] = new { type = "fixed", amount = 300, stock = 5, valid_days = 7 },
        }))["id"]!.GetValue<Guid>();
        (await buyer.PostAsync("/v1/coupons", new { campaign_id = campaign })).StatusCode.ShouldBe(HttpStatusCode.Created);
        var walletBefore = await buyer.AvailableAsync();
        var spentBefore = await PointsBudgetSpentAsync();
        var redeemedBefore = await RedeemedAsync();
        var outTradeNo = "PR-" + Guid.NewGuid().ToString("N");
        var qr = await QrAsync(app, "20.00", outTradeNo);
        // Half of 20.00 is 10.00 and the coupon leaves 17.00: all 1000 points are usable.
        (await JsonAsync(await buyer.PostAsync("/v1/qr-codes/resolve", new { qr_code = qr }), HttpStatusCode.OK))["points"]!["usable_max"]!
            .GetValue<long>().ShouldBe(1_000);
        var paid = await JsonAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr, use_points = 1_000 }), HttpStatusCode.OK);
        paid["discount_amount"]!.GetValue<long>().ShouldBe(300);
        paid["points_amount"]!.GetValue<long>().ShouldBe(1_000);
        paid["pay_amount"]!.GetValue<long>().ShouldBe(700);
        (await CampaignSpentAsync(campaign)).ShouldBe(300);
        await Server.AssertLedgerOkAsync();

        // Refund 3.33 of 20.00 (paid 7.00, coupon 3.00, points 10.00): buyer floor(333 × 700 / 2000) = 116; of the other 217 the
        // points budget floor(217 × 1000 / 1300) = 166, the coupon's budget 51; points back floor(333 × 1000 / 2000) = 166.
        (await Server.CallAsync(app, "alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "3.33", out_request_no = "R1" })).ShouldBe("10000");
        (await buyer.AvailableAsync()).ShouldBe(walletBefore - 700 + 116);
        (await PointsBudgetSpentAsync()).ShouldBe(spentBefore + 1_000 - 166);
        (await CampaignSpentAsync(campaign)).ShouldBe(300 - 51);
        (await RedeemedAsync()).ShouldBe(redeemedBefore + 1_000 - 166);
        await Server.AssertLedgerOkAsync();

        (await Server.CallAsync(app, "alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "16.67", out_request_no = "R2" })).ShouldBe("10000");
        (await buyer.AvailableAsync()).ShouldBe(walletBefore);
        (await PointsBudgetSpentAsync()).ShouldBe(spentBefore);
        (await CampaignSpentAsync(campaign)).ShouldBe(0);
        (await RedeemedAsync()).ShouldBe(redeemedBefore);
        // All 1000 back; the 7.00 earned (700) all clawed back.
        await PointsServer.BalanceEventuallyAsync(buyer, 1_000);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Concurrent_payments_redeeming_the_same_points_redeem_them_once()
    {
        var (app, buyer) = await BuyerWithPointsAsync();
        var walletBefore = await buyer.AvailableAsync();
        // Two trades of 20.00, each may take all 1000 points (half the total): both ask at once, one gets them.
        var qrs = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => QrAsync(app, "20.00", "PR-" + Guid.NewGuid().ToString("N"))));
        var answers = await Task.WhenAll(qrs.Select(async qr =>
        {
            using var response = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr, use_points = 1_000 });
            return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
        }));
        answers.Count(a => a.Item1 == 200).ShouldBe(1, string.Join(" | ", answers.Select(a => a.Item2.ToJsonString())));
        answers.Single(a => a.Item1 != 200).Item2["code"]!.GetValue<string>().ShouldBe("points_not_usable");
        answers.Single(a => a.Item1 == 200).Item2["pay_amount"]!.GetValue<long>().ShouldBe(1_000);
        (await buyer.AvailableAsync()).ShouldBe(walletBefore - 1_000);
        // 0 left, then the 10.00 paid earns 1000.
        await PointsServer.BalanceEventuallyAsync(buyer, 1_000);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Concurrent_payments_of_several_buyers_each_consume_their_own_lots_oldest_first()
    {
        // Each buyer: a 300-point lot, then a 700-point one; then all redeem 500 at once (on PostgreSQL several such payments share
        // a ledger batch, whose redemptions are written in one statement): 300 from the older lot, 200 from the newer.
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var buyers = new List<WalletClient>();
        for (var i = 0; i < 6; i++)
        {
            var b = await Server.BuyerAsync(100_000);
            await Server.PayAsync(app, b, "3.00");
            await PointsServer.BalanceEventuallyAsync(b, 300);
            await Server.PayAsync(app, b, "7.00");
            await PointsServer.BalanceEventuallyAsync(b, 1_000);
            buyers.Add(b);
        }
        var redeemedBefore = await RedeemedAsync();
        var qrs = await Task.WhenAll(buyers.Select(_ => QrAsync(app, "20.00", "PR-" + Guid.NewGuid().ToString("N"))));
        var paid = await Task.WhenAll(buyers.Select(async (b, i) =>
            await JsonAsync(await b.PostAsync("/v1/qr-payments", new { qr_code = qrs[i], use_points = 500 }), HttpStatusCode.OK)));
        paid.Select(p => p["points_used"]!.GetValue<long>()).ShouldAllBe(n => n == 500);
        paid.Select(p => p["pay_amount"]!.GetValue<long>()).ShouldAllBe(n => n == 1_500);
        (await RedeemedAsync()).ShouldBe(redeemedBefore + 6 * 500);
        foreach (var b in buyers)
        {
            (await Server.CountAsync("SELECT remaining FROM points_lots WHERE user_id = @u AND amount = 300", new { u = b.UserId })).ShouldBe(0);
            (await Server.CountAsync("SELECT remaining FROM points_lots WHERE user_id = @u AND amount = 700", new { u = b.UserId })).ShouldBe(500);
            (await Server.CountAsync("SELECT count(*) FROM points_items WHERE user_id = @u AND kind = 100 AND amount = 500", new { u = b.UserId })).ShouldBe(1);
        }
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqlitePointsRedemptionTests(SqliteRedemptionServer server) : PointsRedemptionTests<SqliteRedemptionServer>(server);

public sealed class PostgresPointsRedemptionTests(PostgresRedemptionServer server) : PointsRedemptionTests<PostgresRedemptionServer>(server);

/// <summary>The arithmetic of redeeming: whole fen only, the share cap, the fen left to pay.</summary>
public sealed class PointsRedemptionRulesTests
{
    [Theory]
    [InlineData(0L, 100, 0L)]
    [InlineData(7L, 100, 7L)]
    [InlineData(3L, 150, 2L)]
    [InlineData(10L, 1000, 1L)]
    public void Whole_fen_redeem(long points, int perYuan, long fen) => PointsRules.RedeemFen(points, perYuan).ShouldBe(fen);

    [Theory]
    [InlineData(-1L, 100)]
    [InlineData(1L, 150)]
    [InlineData(5L, 1000)]
    public void Part_fen_or_negative_do_not(long points, int perYuan) => PointsRules.RedeemFen(points, perYuan).ShouldBeNull();

    [Theory]
    // total, other discounts, usable, per yuan, max bps → points
    [InlineData(1_001L, 0L, 1_000L, 100, 5_000, 500L)]
    [InlineData(1_000L, 0L, 1_000L, 100, 5_000, 500L)]
    [InlineData(1_000L, 0L, 200L, 100, 5_000, 200L)]
    [InlineData(1_000L, 800L, 1_000L, 100, 5_000, 199L)]
    [InlineData(1_000L, 0L, 1_000L, 100, 10_000, 999L)]
    [InlineData(1_000L, 0L, 1_000L, 100, 0, 0L)]
    [InlineData(1L, 0L, 1_000L, 100, 10_000, 0L)]
    [InlineData(1_000L, 0L, 100L, 150, 5_000, 99L)]
    [InlineData(1_000L, 0L, 1_000L, 150, 5_000, 750L)]
    public void Usable_max(long total, long discount, long usable, int perYuan, int maxBps, long expected) =>
        PointsRules.UsableMax(total, discount, usable, perYuan, maxBps).ShouldBe(expected);
}
