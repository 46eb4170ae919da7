using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// Races on the open platform's idempotency keys and money paths, over real TCP, on each engine. Merchants call with
/// the C# signer (fast), and once with the SDK in the middle of a race to show the two are interchangeable. After
/// each race the ledger check passes and balances add up.
/// </summary>
public abstract class GatewayRaceTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private const int FeeBps = 60;
    private const int Racers = 10;

    protected TServer Server { get; } = server;

    [Fact]
    public async Task One_out_trade_no_precreated_at_once_is_one_trade()
    {
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var caller = Server.Caller(app);
        var sdk = await Server.SdkAsync();
        await sdk.RegisterAsync(app.AppId, app.AppId, SdkKeys.PrivatePkcs1(SdkKeys.App), app.PlatformPublicKey);
        var outTradeNo = "RACE-PRE-" + Guid.NewGuid().ToString("N");
        var biz = new { out_trade_no = outTradeNo, total_amount = "9.99", subject = "并发预下单" };

        var qrCodes = await RaceAsync(Racers, async i =>
        {
            if (i == 0)
            {
                var result = await sdk.ExecAsync(app.AppId, "alipay.trade.precreate", biz);
                result["code"]!.GetValue<string>().ShouldBe("10000", result.ToJsonString());
                return result["qrCode"]!.GetValue<string>();
            }
            return (await caller.CallAsync("alipay.trade.precreate", biz)).ShouldBe("10000")["qr_code"]!;
        });
        qrCodes.Distinct().Count().ShouldBe(1, string.Join(", ", qrCodes));
        (await Server.CountAsync("SELECT count(*) FROM trades WHERE app_id = @AppId AND out_trade_no = @outTradeNo", new { app.AppId, outTradeNo })).ShouldBe(1);

        // The same out_trade_no with other terms is a different request: refused, not merged.
        (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = "9.98", subject = "并发预下单" }))
            .ShouldBe("40004", "ACQ.CONTEXT_INCONSISTENT");
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task One_qr_paid_by_two_buyers_at_once_charges_exactly_one()
    {
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var caller = Server.Caller(app);
        for (var round = 0; round < 3; round++)
        {
            var buyers = new[] { await Server.BuyerAsync(1_000), await Server.BuyerAsync(1_000) };
            var outTradeNo = "RACE-QR-" + Guid.NewGuid().ToString("N");
            var qr = (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = "7.00", subject = "抢付" }))
                .ShouldBe("10000")["qr_code"]!;

            var answers = await RaceAsync(2, async i =>
            {
                using var response = await buyers[i].PostAsync("/v1/qr-payments", new { qr_code = qr });
                return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
            });
            answers.Count(a => a.Item1 == 200).ShouldBe(1, string.Join("\n", answers));
            var loser = answers.Single(a => a.Item1 != 200);
            loser.Item1.ShouldBe(409, loser.Item2);
            JsonNode.Parse(loser.Item2)!["code"]!.GetValue<string>().ShouldBe("trade_already_paid");

            var winner = Array.FindIndex(answers, a => a.Item1 == 200);
            (await buyers[winner].AvailableAsync()).ShouldBe(300);
            (await buyers[1 - winner].AvailableAsync()).ShouldBe(1_000);
            var query = (await caller.CallAsync("alipay.trade.query", new { out_trade_no = outTradeNo })).ShouldBe("10000");
            query["trade_status"].ShouldBe("TRADE_SUCCESS");
            query["buyer_user_id"].ShouldBe(buyers[winner].UserId.ToString("N"));
            await Server.AssertLedgerOkAsync();
        }
        (await Server.SettlementAsync(app.MerchantId)).Available.ShouldBe(3 * (700 - 700 * FeeBps / 10_000));
    }

    [Fact]
    public async Task One_buyer_paying_twice_at_once_is_charged_once()
    {
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var caller = Server.Caller(app);
        var buyer = await Server.BuyerAsync(1_000);
        var qr = (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = "RACE-SELF-" + Guid.NewGuid().ToString("N"), total_amount = "4.00", subject = "重复点击" }))
            .ShouldBe("10000")["qr_code"]!;
        var answers = await RaceAsync(Racers, async _ =>
        {
            using var response = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr }); // a fresh Idempotency-Key each
            return (int)response.StatusCode;
        });
        answers.ShouldAllBe(status => status == 200);
        (await buyer.AvailableAsync()).ShouldBe(600);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task One_payment_code_scanned_by_two_merchants_at_once_pays_one_trade()
    {
        var apps = new[] { await Server.CreateMerchantWithAppAsync(FeeBps), await Server.CreateMerchantWithAppAsync(FeeBps) };
        var buyer = await Server.BuyerAsync(1_000);
        using var issued = await buyer.PostAsync("/v1/payment-codes", new { });
        var code = (await issued.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();

        var answers = await RaceAsync(2, i => Server.Caller(apps[i]).CallAsync("alipay.trade.pay",
            new { out_trade_no = "RACE-BAR-" + Guid.NewGuid().ToString("N"), scene = "bar_code", auth_code = code, total_amount = "2.50", subject = "双扫" }));
        answers.Count(a => a.Code == "10000").ShouldBe(1, string.Join("\n", answers.Select(a => a.Raw)));
        answers.Single(a => a.Code != "10000").ShouldBe("40004", "ACQ.PAYMENT_AUTH_CODE_INVALID");
        (await buyer.AvailableAsync()).ShouldBe(750);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task One_pay_request_retried_at_once_pays_once_and_every_copy_says_so()
    {
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var caller = Server.Caller(app);
        var buyer = await Server.BuyerAsync(1_000);
        using var issued = await buyer.PostAsync("/v1/payment-codes", new { });
        var code = (await issued.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
        var pay = new { out_trade_no = "RACE-RETRY-" + Guid.NewGuid().ToString("N"), scene = "bar_code", auth_code = code, total_amount = "3.00", subject = "重试" };

        // A till that times out and retries while the first attempt is still in flight.
        var answers = await RaceAsync(5, _ => caller.CallAsync("alipay.trade.pay", pay));
        var raw = string.Join("\n", answers.Select(a => a.Code + " " + a.SubCode + " " + a["trade_no"]));
        answers.ShouldAllBe(a => a.Code == "10000", raw);
        answers.Select(a => a["trade_no"]).Distinct().Count().ShouldBe(1, raw);
        (await buyer.AvailableAsync()).ShouldBe(700);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Racing_refunds_never_exceed_what_was_paid()
    {
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var caller = Server.Caller(app);
        var buyer = await Server.BuyerAsync(20_000);
        var outTradeNo = "RACE-REF-" + Guid.NewGuid().ToString("N");
        var qr = (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = "100.00", subject = "并发退款" }))
            .ShouldBe("10000")["qr_code"]!;
        using (var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr }))
            paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        (await buyer.AvailableAsync()).ShouldBe(10_000);

        // Ten refunds of 30% each, distinct request numbers: three fit, the rest must be refused whole.
        var answers = await RaceAsync(Racers, i => caller.CallAsync("alipay.trade.refund",
            new { out_trade_no = outTradeNo, refund_amount = "30.00", out_request_no = "RR-" + i }));
        var raw = string.Join("\n", answers.Select(a => a.Raw));
        answers.Count(a => a.Code == "10000").ShouldBe(3, raw);
        answers.Where(a => a.Code == "10000").ShouldAllBe(a => a["fund_change"] == "Y");
        foreach (var refused in answers.Where(a => a.Code != "10000")) refused.ShouldBe("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
        (await buyer.AvailableAsync()).ShouldBe(10_000 + 9_000);

        // Then ten copies of one more refund (one request number) at once: one refund, nine replays.
        var replays = await RaceAsync(Racers, _ => caller.CallAsync("alipay.trade.refund",
            new { out_trade_no = outTradeNo, refund_amount = "10.00", out_request_no = "RR-LAST" }));
        raw = string.Join("\n", replays.Select(a => a.Raw));
        replays.ShouldAllBe(a => a.Code == "10000", raw);
        replays.Count(a => a["fund_change"] == "Y").ShouldBe(1, raw);
        replays.ShouldAllBe(a => a["refund_fee"] == "100.00", raw);
        (await buyer.AvailableAsync()).ShouldBe(20_000);

        var query = (await caller.CallAsync("alipay.trade.query", new { out_trade_no = outTradeNo })).ShouldBe("10000");
        query["trade_status"].ShouldBe("TRADE_CLOSED"); // fully refunded
        query["refund_fee"].ShouldBe("100.00");
        (await Server.CountAsync("SELECT count(*) FROM trade_refunds WHERE trade_no = @tradeNo", new { tradeNo = query["trade_no"] })).ShouldBe(4);
        // Fully refunded: the fee went back too, and the merchant is where it started.
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((0, 0));
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Cancel_racing_partial_refunds_refunds_everything_when_it_says_refund()
    {
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var caller = Server.Caller(app);
        for (var round = 0; round < 3; round++)
        {
            var buyer = await Server.BuyerAsync(10_000);
            var outTradeNo = "RACE-CANCEL-" + Guid.NewGuid().ToString("N");
            var qr = (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = "100.00", subject = "撤销竞争" }))
                .ShouldBe("10000")["qr_code"]!;
            using (var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr }))
                paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());

            var answers = await RaceAsync(6, i => i == 0
                ? caller.CallAsync("alipay.trade.cancel", new { out_trade_no = outTradeNo })
                : caller.CallAsync("alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "10.00", out_request_no = "C-" + i }));
            var raw = string.Join("\n", answers.Select(a => a.Raw));
            var cancel = answers[0];
            cancel.ShouldBe("10000");
            cancel["action"].ShouldBe("refund", raw);

            // Whatever the interleaving, a cancel that answered "refund" leaves the trade refunded in full, exactly once.
            var query = (await caller.CallAsync("alipay.trade.query", new { out_trade_no = outTradeNo })).ShouldBe("10000");
            query["trade_status"].ShouldBe("TRADE_CLOSED", raw);
            query["refund_fee"].ShouldBe("100.00", raw);
            (await buyer.AvailableAsync()).ShouldBe(10_000, raw);
            await Server.AssertLedgerOkAsync();
        }
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((0, 0));
    }

    [Fact]
    public async Task Close_racing_payment_ends_one_way_or_the_other()
    {
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var caller = Server.Caller(app);
        for (var round = 0; round < 4; round++)
        {
            var buyer = await Server.BuyerAsync(1_000);
            var outTradeNo = "RACE-CLOSE-" + Guid.NewGuid().ToString("N");
            var qr = (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = "6.00", subject = "关单竞争" }))
                .ShouldBe("10000")["qr_code"]!;
            GatewayAnswer? close = null;
            var payStatus = 0;
            await RaceAsync(2, async i =>
            {
                if (i == 0) close = await caller.CallAsync("alipay.trade.close", new { out_trade_no = outTradeNo });
                else
                {
                    using var response = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr });
                    payStatus = (int)response.StatusCode;
                }
                return i;
            });
            var status = (await caller.CallAsync("alipay.trade.query", new { out_trade_no = outTradeNo })).ShouldBe("10000")["trade_status"];
            if (payStatus == 200)
            {
                close!.ShouldBe("40004", "ACQ.TRADE_STATUS_ERROR");
                status.ShouldBe("TRADE_SUCCESS");
                (await buyer.AvailableAsync()).ShouldBe(400);
            }
            else
            {
                payStatus.ShouldBe(422);
                close!.ShouldBe("10000");
                status.ShouldBe("TRADE_CLOSED");
                (await buyer.AvailableAsync()).ShouldBe(1_000);
            }
        }
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task One_settlement_sent_several_times_at_once_settles_once()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        var partner = await Server.CreateMerchantAsync(feeBps: 0);
        var caller = Server.Caller(app);
        var buyer = await Server.BuyerAsync(5_000);
        var outTradeNo = "RACE-SET-" + Guid.NewGuid().ToString("N");
        var qr = (await caller.CallAsync("alipay.trade.precreate", new
        {
            out_trade_no = outTradeNo, total_amount = "50.00", subject = "并发分账", extend_params = new { royalty_freeze = "true" },
        })).ShouldBe("10000")["qr_code"]!;
        using (var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr }))
            paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        (await caller.CallAsync("alipay.trade.royalty.relation.bind", new
        {
            out_request_no = "B-" + Guid.NewGuid().ToString("N"), receiver_list = new[] { new { type = "userId", account = partner.ToString() } },
        })).ShouldBe("10000");
        var tradeNo = (await caller.CallAsync("alipay.trade.query", new { out_trade_no = outTradeNo })).ShouldBe("10000")["trade_no"]!;

        var answers = await RaceAsync(5, _ => caller.CallAsync("alipay.trade.order.settle", new
        {
            out_request_no = "S-ONCE", trade_no = tradeNo,
            royalty_parameters = new[] { new { trans_in_type = "userId", trans_in = partner.ToString(), amount = "15.00" } },
        }));
        var raw = string.Join("\n", answers.Select(a => a.Raw));
        answers.ShouldAllBe(a => a.Code == "10000", raw);
        answers.Select(a => a["settle_no"]).Distinct().Count().ShouldBe(1, raw);
        (await Server.SettlementAsync(partner)).ShouldBe((1_500, 0));
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((3_500, 0));
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Refunds_of_a_frozen_trade_refreeze_the_rest_and_settlement_pays_from_it()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 100);
        var partner = await Server.CreateMerchantAsync(feeBps: 0);
        var caller = Server.Caller(app);
        var buyer = await Server.BuyerAsync(10_000);
        var outTradeNo = "FRZ-" + Guid.NewGuid().ToString("N");
        var qr = (await caller.CallAsync("alipay.trade.precreate", new
        {
            out_trade_no = outTradeNo, total_amount = "100.00", subject = "冻结退款", extend_params = new { royalty_freeze = "true" },
        })).ShouldBe("10000")["qr_code"]!;
        using (var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr }))
            paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((0, 9_900));

        // Refund 10.00 of 100.00: the fee's tenth (0.10) comes back, and 100 - 10 - 0.90 stays frozen.
        var refunds = await RaceAsync(3, i => caller.CallAsync("alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "10.00", out_request_no = "F1" }));
        refunds.Count(r => r["fund_change"] == "Y").ShouldBe(1, string.Join("\n", refunds.Select(r => r.Raw)));
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((0, 8_910));
        (await buyer.AvailableAsync()).ShouldBe(1_000);

        (await caller.CallAsync("alipay.trade.royalty.relation.bind", new
        {
            out_request_no = "B-" + Guid.NewGuid().ToString("N"), receiver_list = new[] { new { type = "userId", account = partner.ToString() } },
        })).ShouldBe("10000");
        var tradeNo = (await caller.CallAsync("alipay.trade.query", new { out_trade_no = outTradeNo })).ShouldBe("10000")["trade_no"]!;

        // More than is frozen is refused, and moves nothing (so is more than the 30 % cap, RoyaltyMaxBps).
        (await caller.CallAsync("alipay.trade.order.settle", new
        {
            out_request_no = "S-too-much", trade_no = tradeNo,
            royalty_parameters = new[] { new { trans_in_type = "userId", trans_in = partner.ToString(), amount = "89.11" } },
        })).ShouldBe("40004", "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR");
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((0, 8_910));

        (await caller.CallAsync("alipay.trade.order.settle", new
        {
            out_request_no = "S-1", trade_no = tradeNo,
            royalty_parameters = new[] { new { trans_in_type = "userId", trans_in = partner.ToString(), amount = "30.00" } },
        })).ShouldBe("10000");
        (await Server.SettlementAsync(partner)).ShouldBe((3_000, 0));
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((8_910 - 3_000, 0));
        await Server.AssertLedgerOkAsync();
    }

    /// <summary>Starts <paramref name="count"/> calls as close to together as we can and waits (bounded) for all.</summary>
    private static async Task<T[]> RaceAsync<T>(int count, Func<int, Task<T>> call)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            await gate.Task;
            return await call(i);
        })).ToArray();
        gate.SetResult();
        return await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
    }
}

public sealed class SqliteGatewayRaceTests(SqliteGatewayServer server) : GatewayRaceTests<SqliteGatewayServer>(server);

public sealed class PostgresGatewayRaceTests(PostgresGatewayServer server) : GatewayRaceTests<PostgresGatewayServer>(server);
