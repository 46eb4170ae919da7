using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// Issue 7's acquiring fixes end to end, with the official alipay-sdk as the merchant's client and a server clock the
/// tests move forward (a payment code's 60 s lifetime runs out without sleeping), on each engine: a payment code
/// authorises attempts only within its lifetime; settlements are bounded over all of a trade's requests; out-of-range
/// <c>timeout_express</c> values are the caller's mistake.
/// </summary>
public abstract class AcquiringFixesTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : ClockedGatewayServer
{
    private const int FeeBps = 60;

    protected TServer Server { get; } = server;

    // ---- payment codes ----------------------------------------------------------------------------------------------

    [Fact]
    public async Task Till_retry_after_the_code_expired_does_not_debit_the_buyer_who_topped_up()
    {
        var (sdk, client, _) = await MerchantAsync(FeeBps);
        var buyer = await Server.BuyerAsync(100, "过期重试");
        var pay = PayRequest(await CodeAsync(buyer), "2.50");
        Business(await sdk.ExecAsync(client, "alipay.trade.pay", pay), "ACQ.BUYER_BALANCE_NOT_ENOUGH");
        await buyer.TopUpAsync(1_000);
        var before = await Server.LedgerFingerprintAsync();

        Server.Clock.Advance(TimeSpan.FromSeconds(61));
        Business(await sdk.ExecAsync(client, "alipay.trade.pay", pay), "ACQ.PAYMENT_AUTH_CODE_INVALID");

        (await buyer.AvailableAsync()).ShouldBe(1_100);
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);
        (await QueryAsync(sdk, client, pay.out_trade_no))["tradeStatus"]!.GetValue<string>().ShouldBe("WAIT_BUYER_PAY");
        // Nor can the same code be spent on a new trade now.
        Business(await sdk.ExecAsync(client, "alipay.trade.pay", PayRequest(pay.auth_code, "2.50")), "ACQ.PAYMENT_AUTH_CODE_INVALID");
        (await buyer.AvailableAsync()).ShouldBe(1_100);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Till_retry_inside_the_lifetime_pays_once_and_a_late_replay_only_answers()
    {
        var (sdk, client, app) = await MerchantAsync(FeeBps);
        var buyer = await Server.BuyerAsync(100, "及时重试");
        var pay = PayRequest(await CodeAsync(buyer), "2.50");
        Business(await sdk.ExecAsync(client, "alipay.trade.pay", pay), "ACQ.BUYER_BALANCE_NOT_ENOUGH");
        await buyer.TopUpAsync(1_000);

        Server.Clock.Advance(TimeSpan.FromSeconds(30));
        var paid = await sdk.ExecAsync(client, "alipay.trade.pay", pay);
        Ok(paid);
        (await buyer.AvailableAsync()).ShouldBe(850);

        // The answer was lost and the till asks again long after: the payment is reported, never made twice.
        Server.Clock.Advance(TimeSpan.FromSeconds(61));
        var replay = await sdk.ExecAsync(client, "alipay.trade.pay", pay);
        Ok(replay);
        replay["tradeNo"]!.GetValue<string>().ShouldBe(paid["tradeNo"]!.GetValue<string>());
        (await buyer.AvailableAsync()).ShouldBe(850);
        (await Server.SettlementAsync(app.MerchantId)).Available.ShouldBe(250 - 250 * FeeBps / 10_000);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Code_first_shown_after_its_lifetime_is_refused()
    {
        var (sdk, client, _) = await MerchantAsync(FeeBps);
        var buyer = await Server.BuyerAsync(1_000, "过期码");
        var code = await CodeAsync(buyer);
        Server.Clock.Advance(TimeSpan.FromSeconds(60));
        var pay = PayRequest(code, "1.00");
        Business(await sdk.ExecAsync(client, "alipay.trade.pay", pay), "ACQ.PAYMENT_AUTH_CODE_INVALID");
        Business(await sdk.ExecAsync(client, "alipay.trade.query", new { pay.out_trade_no }), "ACQ.TRADE_NOT_EXIST");
        (await buyer.AvailableAsync()).ShouldBe(1_000);
    }

    // ---- settlement bounds ------------------------------------------------------------------------------------------

    [Fact]
    public async Task Several_settlements_together_stay_within_RoyaltyMaxBps_of_the_paid_amount()
    {
        var (sdk, client, app) = await MerchantAsync(FeeBps);
        var partner = await Server.CreateMerchantAsync(feeBps: 0, name: "分账伙伴");
        var stranger = await Server.CreateMerchantAsync(feeBps: 0, name: "未绑定");
        var tradeNo = await PaidTradeAsync(sdk, client, "100.00", freeze: false);
        await BindAsync(sdk, client, partner);

        // Not bound to the app: refused, nothing moves.
        var before = await Server.LedgerFingerprintAsync();
        Business(await SettleAsync(sdk, client, tradeNo, "S-stranger", (stranger, "1.00")), "ACQ.ALLOC_REL_NOT_EXIST");
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);

        var first = await SettleAsync(sdk, client, tradeNo, "S-1", (partner, "20.00"));
        Ok(first);
        // 20.00 + 10.01 is more than 30 % of 100.00: refused whole, and nothing moves.
        before = await Server.LedgerFingerprintAsync();
        Business(await SettleAsync(sdk, client, tradeNo, "S-2", (partner, "5.00"), (partner, "5.01")), "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR");
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);
        Ok(await SettleAsync(sdk, client, tradeNo, "S-3", (partner, "5.00"), (partner, "5.00")));
        Business(await SettleAsync(sdk, client, tradeNo, "S-4", (partner, "0.01")), "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR");

        // A replay of the first answers it again and moves nothing more.
        var replay = await SettleAsync(sdk, client, tradeNo, "S-1", (partner, "20.00"));
        Ok(replay);
        replay["settleNo"]!.GetValue<string>().ShouldBe(first["settleNo"]!.GetValue<string>());

        (await Server.SettlementAsync(partner)).ShouldBe((3_000, 0));
        (await Server.SettlementAsync(stranger)).ShouldBe((0, 0));
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((10_000 - 60 - 3_000, 0));
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Settlement_is_bounded_by_what_refunds_left_of_the_sale()
    {
        var (sdk, client, app) = await MerchantAsync(FeeBps);
        var partner = await Server.CreateMerchantAsync(feeBps: 0, name: "分账伙伴");
        var tradeNo = await PaidTradeAsync(sdk, client, "10.00", freeze: false);
        await BindAsync(sdk, client, partner);
        Ok(await sdk.ExecAsync(client, "alipay.trade.refund", new { trade_no = tradeNo, refund_amount = "9.00", out_request_no = "R-1" }));

        // 10.00 paid, 9.00 refunded, 0.01 of the 0.06 fee kept: 0.99 is left to share, below the 3.00 cap.
        var before = await Server.LedgerFingerprintAsync();
        Business(await SettleAsync(sdk, client, tradeNo, "S-too-much", (partner, "1.00")), "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR");
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);
        Ok(await SettleAsync(sdk, client, tradeNo, "S-rest", (partner, "0.99")));
        (await Server.SettlementAsync(partner)).ShouldBe((99, 0));
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((0, 0));
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Frozen_trade_is_released_by_its_first_settlement_and_further_ones_share_the_cap()
    {
        var (sdk, client, app) = await MerchantAsync(feeBps: 100);
        var partner = await Server.CreateMerchantAsync(feeBps: 0, name: "分账伙伴");
        var tradeNo = await PaidTradeAsync(sdk, client, "100.00", freeze: true);
        await BindAsync(sdk, client, partner);
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((0, 9_900));

        Ok(await SettleAsync(sdk, client, tradeNo, "F-1", (partner, "10.00")));
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((8_900, 0));
        Business(await SettleAsync(sdk, client, tradeNo, "F-2", (partner, "20.01")), "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR");
        Ok(await SettleAsync(sdk, client, tradeNo, "F-3", (partner, "20.00")));
        (await Server.SettlementAsync(partner)).ShouldBe((3_000, 0));
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((6_900, 0));
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Different_settle_requests_racing_on_one_trade_never_pass_the_cap()
    {
        var (_, _, app) = await MerchantAsync(FeeBps);
        var partner = await Server.CreateMerchantAsync(feeBps: 0, name: "并发分账");
        var caller = Server.Caller(app);
        var sdkAndClient = await MerchantClientAsync(app);
        var tradeNo = await PaidTradeAsync(sdkAndClient.Sdk, sdkAndClient.Client, "100.00", freeze: false);
        await BindAsync(sdkAndClient.Sdk, sdkAndClient.Client, partner);

        // Eight requests of 10.00 each against a 30.00 cap: exactly three succeed, whatever the interleaving.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var racers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            await gate.Task;
            return await caller.CallAsync("alipay.trade.order.settle", new
            {
                out_request_no = $"RACE-{i}", trade_no = tradeNo,
                royalty_parameters = new[] { new { trans_in_type = "userId", trans_in = partner.ToString(), amount = "10.00" } },
            });
        })).ToArray();
        gate.SetResult();
        var answers = await Task.WhenAll(racers).WaitAsync(TimeSpan.FromSeconds(60));
        var raw = string.Join("\n", answers.Select(a => a.Raw));
        answers.Count(a => a.Code == "10000").ShouldBe(3, raw);
        answers.Where(a => a.Code != "10000").ShouldAllBe(a => a.SubCode == "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR" || a.SubCode == "ACQ.TRADE_STATUS_ERROR", raw);
        (await Server.SettlementAsync(partner)).ShouldBe((3_000, 0));
        await Server.AssertLedgerOkAsync();
    }

    // ---- timeout_express ----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("99999999d")]
    [InlineData("16d")]
    [InlineData("21601m")]
    [InlineData("0m")]
    [InlineData("1.5h")]
    [InlineData("2c")]
    public async Task Timeout_express_out_of_range_is_an_invalid_parameter_and_creates_nothing(string timeout)
    {
        var (sdk, client, _) = await MerchantAsync(FeeBps);
        var precreate = new { out_trade_no = "TO-" + Guid.NewGuid().ToString("N"), total_amount = "1.00", subject = "超时", qr_code_timeout_express = timeout };
        Invalid(await sdk.ExecAsync(client, "alipay.trade.precreate", precreate));
        Business(await sdk.ExecAsync(client, "alipay.trade.query", new { precreate.out_trade_no }), "ACQ.TRADE_NOT_EXIST");

        var buyer = await Server.BuyerAsync(0, "超时买家");
        var create = new { out_trade_no = "TO-" + Guid.NewGuid().ToString("N"), total_amount = "1.00", subject = "超时", buyer_id = buyer.UserId.ToString(), timeout_express = timeout };
        Invalid(await sdk.ExecAsync(client, "alipay.trade.create", create));
        Business(await sdk.ExecAsync(client, "alipay.trade.query", new { create.out_trade_no }), "ACQ.TRADE_NOT_EXIST");
    }

    [Fact]
    public async Task Timeout_express_bad_on_a_pay_leaves_the_code_usable_and_the_range_ends_are_accepted()
    {
        var (sdk, client, _) = await MerchantAsync(FeeBps);
        var buyer = await Server.BuyerAsync(1_000, "边界");
        var code = await CodeAsync(buyer);
        Invalid(await sdk.ExecAsync(client, "alipay.trade.pay", new
        {
            out_trade_no = "TOP-" + Guid.NewGuid().ToString("N"), scene = "bar_code", auth_code = code, total_amount = "1.00", subject = "超时", timeout_express = "99999999d",
        }));
        Ok(await sdk.ExecAsync(client, "alipay.trade.pay", new
        {
            out_trade_no = "TOP-" + Guid.NewGuid().ToString("N"), scene = "bar_code", auth_code = code, total_amount = "1.00", subject = "超时", timeout_express = "15d",
        }));
        (await buyer.AvailableAsync()).ShouldBe(900);

        foreach (var (timeout, expected) in new (string, Func<DateTimeOffset, DateTimeOffset>)[]
                 {
                     ("1m", now => now.AddMinutes(1)), ("15d", now => now.AddDays(15)), ("360h", now => now.AddDays(15)), ("1c", TradeDeadlines.EndOfChinaDay),
                 })
        {
            var outTradeNo = "TOK-" + Guid.NewGuid().ToString("N");
            var before = Server.Clock.GetUtcNow();
            Ok(await sdk.ExecAsync(client, "alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = "1.00", subject = "边界", qr_code_timeout_express = timeout }));
            var after = Server.Clock.GetUtcNow();
            var expiresAtUs = await Server.CountAsync("SELECT expires_at_us FROM trades WHERE out_trade_no = @outTradeNo", new { outTradeNo });
            var expiresAt = DateTimeOffset.UnixEpoch.AddTicks(expiresAtUs * 10);
            expiresAt.ShouldBeInRange(expected(before).AddMilliseconds(-1), expected(after).AddMilliseconds(1), timeout);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    private static object SettleParameters(string tradeNo, string outRequestNo, (Guid Receiver, string Amount)[] shares) => new
    {
        out_request_no = outRequestNo, trade_no = tradeNo,
        royalty_parameters = shares.Select(s => new { trans_in_type = "userId", trans_in = s.Receiver.ToString(), amount = s.Amount, desc = "分账" }).ToArray(),
    };

    private static Task<JsonObject> SettleAsync(SdkDriver sdk, string client, string tradeNo, string outRequestNo, params (Guid Receiver, string Amount)[] shares) =>
        sdk.ExecAsync(client, "alipay.trade.order.settle", SettleParameters(tradeNo, outRequestNo, shares));

    private static async Task BindAsync(SdkDriver sdk, string client, Guid receiver) =>
        Ok(await sdk.ExecAsync(client, "alipay.trade.royalty.relation.bind", new
        {
            out_request_no = "BIND-" + Guid.NewGuid().ToString("N"), receiver_list = new[] { new { type = "userId", account = receiver.ToString() } },
        }));

    /// <summary>A trade of <paramref name="yuan"/> paid by a fresh buyer by QR code; its trade_no.</summary>
    private async Task<string> PaidTradeAsync(SdkDriver sdk, string client, string yuan, bool freeze)
    {
        var buyer = await Server.BuyerAsync(20_000);
        object biz = freeze
            ? new { out_trade_no = "SET-" + Guid.NewGuid().ToString("N"), total_amount = yuan, subject = "分账商品", extend_params = new { royalty_freeze = "true" } }
            : new { out_trade_no = "SET-" + Guid.NewGuid().ToString("N"), total_amount = yuan, subject = "分账商品" };
        var precreated = await sdk.ExecAsync(client, "alipay.trade.precreate", biz);
        Ok(precreated);
        using var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = precreated["qrCode"]!.GetValue<string>() });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        return (await paid.Content.ReadFromJsonAsync<JsonObject>())!["trade_no"]!.GetValue<string>();
    }

    private async Task<(SdkDriver Sdk, string Client, MerchantApp App)> MerchantAsync(int feeBps)
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps);
        var (sdk, client) = await MerchantClientAsync(app);
        return (sdk, client, app);
    }

    private async Task<(SdkDriver Sdk, string Client)> MerchantClientAsync(MerchantApp app)
    {
        var sdk = await Server.SdkAsync();
        await sdk.RegisterAsync(app.AppId, app.AppId, SdkKeys.PrivatePkcs1(SdkKeys.App), app.PlatformPublicKey);
        return (sdk, app.AppId);
    }

    private static async Task<string> CodeAsync(WalletClient buyer)
    {
        using var issued = await buyer.PostAsync("/v1/payment-codes", new { });
        issued.StatusCode.ShouldBe(HttpStatusCode.Created, await issued.Content.ReadAsStringAsync());
        return (await issued.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
    }

    private sealed record PayBiz(string out_trade_no, string scene, string auth_code, string total_amount, string subject);

    private static PayBiz PayRequest(string code, string yuan) => new("BAR-" + Guid.NewGuid().ToString("N"), "bar_code", code, yuan, "条码支付");

    private static async Task<JsonObject> QueryAsync(SdkDriver sdk, string client, string outTradeNo)
    {
        var query = await sdk.ExecAsync(client, "alipay.trade.query", new { out_trade_no = outTradeNo });
        Ok(query);
        return query;
    }

    private static void Ok(JsonObject result)
    {
        result["code"]!.GetValue<string>().ShouldBe("10000", result.ToJsonString());
        result["msg"]!.GetValue<string>().ShouldBe("Success", result.ToJsonString());
    }

    private static void Business(JsonObject result, string subCode)
    {
        result["code"]!.GetValue<string>().ShouldBe("40004", result.ToJsonString());
        result["subCode"]!.GetValue<string>().ShouldBe(subCode, result.ToJsonString());
    }

    private static void Invalid(JsonObject result)
    {
        result["code"]!.GetValue<string>().ShouldBe("40002", result.ToJsonString());
        result["subCode"]!.GetValue<string>().ShouldBe("isv.invalid-parameter", result.ToJsonString());
    }
}

public sealed class SqliteAcquiringFixesTests(SqliteClockedGatewayServer server) : AcquiringFixesTests<SqliteClockedGatewayServer>(server);

public sealed class PostgresAcquiringFixesTests(PostgresClockedGatewayServer server) : AcquiringFixesTests<PostgresClockedGatewayServer>(server);
