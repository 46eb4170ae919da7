using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>The gateway with account security on, as a real deployment runs it.</summary>
public abstract class SecureGatewayServer(DatabaseEngine engine) : GatewayServer(engine)
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Qianbao:Security:Relaxed", "false");
        builder.UseSetting("Qianbao:Security:NewDeviceStepUpHours", "0");
    }
}

public sealed class SqliteSecureGatewayServer() : SecureGatewayServer(DatabaseEngine.Sqlite);

public sealed class PostgresSecureGatewayServer() : SecureGatewayServer(DatabaseEngine.Postgres);

/// <summary>
/// Item 4, last paragraph: a bar-code payment above <c>Qianbao:Security:CodePayConfirmAboveMinor</c> (default ¥1,000) is not
/// taken at once. The merchant (the official alipay-sdk) gets 10003, the buyer confirms in the wallet with the PIN, and the
/// merchant's query then sees TRADE_SUCCESS (and the notification arrives as for any payment).
/// </summary>
public abstract class CodePayConfirmTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : SecureGatewayServer
{
    private const long Threshold = 100_000;

    private async Task<(SdkDriver Sdk, string Client, SecureUser Buyer)> SetUpAsync(long topUp)
    {
        var sdk = await server.SdkAsync();
        var app = await server.CreateMerchantWithAppAsync(60);
        await sdk.RegisterAsync(app.AppId, app.AppId, SdkKeys.PrivatePkcs1(SdkKeys.App), app.PlatformPublicKey);
        var buyer = await SecureUser.CreateAsync(server.Http, GatewayServer.OperatorKey);
        await buyer.SetTierAsync("class_iii"); // large bar-code payments are above class I's ¥1,000
        await buyer.TopUpAsync(topUp);
        return (sdk, app.AppId, buyer);
    }

    private static async Task<string> PaymentCodeAsync(SecureUser buyer)
    {
        var issued = await buyer.PostAsync("/v1/payment-codes", new { });
        issued.StatusCode.ShouldBe(HttpStatusCode.Created, await issued.Content.ReadAsStringAsync());
        return (await issued.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
    }

    private static async Task<string> StatusAsync(SdkDriver sdk, string client, string outTradeNo)
    {
        var query = await sdk.ExecAsync(client, "alipay.trade.query", new { out_trade_no = outTradeNo });
        query["code"]!.GetValue<string>().ShouldBe("10000", query.ToJsonString());
        return query["tradeStatus"]!.GetValue<string>();
    }

    [Fact]
    public async Task A_large_bar_code_payment_waits_for_the_buyer_to_confirm_with_the_pin()
    {
        var (sdk, client, buyer) = await SetUpAsync(300_000);
        var code = await PaymentCodeAsync(buyer);
        var outTradeNo = "BIG-" + Guid.NewGuid().ToString("N");
        var pay = new { out_trade_no = outTradeNo, scene = "bar_code", auth_code = code, total_amount = "1500.00", subject = "大额条码支付" };

        var waiting = await sdk.ExecAsync(client, "alipay.trade.pay", pay, sdk.NotifyUrl);
        waiting["code"]!.GetValue<string>().ShouldBe("10003", waiting.ToJsonString());
        waiting["msg"]!.GetValue<string>().ShouldBe("order success pay inprocess");
        waiting["subCode"].ShouldBeNull(waiting.ToJsonString());
        waiting["outTradeNo"]!.GetValue<string>().ShouldBe(outTradeNo);
        waiting["buyerUserId"]!.GetValue<string>().ShouldBe(buyer.UserId.ToString("N"));
        waiting["totalAmount"]!.GetValue<string>().ShouldBe("1500.00");
        var tradeNo = waiting["tradeNo"]!.GetValue<string>();
        (await buyer.AvailableAsync()).ShouldBe(300_000);
        (await StatusAsync(sdk, client, outTradeNo)).ShouldBe("WAIT_BUYER_PAY");

        // The till retries (a lost answer): still waiting, nothing taken.
        var retry = await sdk.ExecAsync(client, "alipay.trade.pay", pay, sdk.NotifyUrl);
        retry["code"]!.GetValue<string>().ShouldBe("10003", retry.ToJsonString());
        retry["tradeNo"]!.GetValue<string>().ShouldBe(tradeNo);

        // The buyer confirms in the wallet: without the PIN, or with a wrong one, nothing moves.
        await (await buyer.PostAsync($"/v1/trades/{tradeNo}/pay", new { }, pin: null)).ShouldBeProblemAsync(403, "pin_required");
        await (await buyer.PostAsync($"/v1/trades/{tradeNo}/pay", new { }, pin: "246801")).ShouldBeProblemAsync(403, "invalid_pin");
        (await StatusAsync(sdk, client, outTradeNo)).ShouldBe("WAIT_BUYER_PAY");
        var paid = await buyer.PostAsync($"/v1/trades/{tradeNo}/pay", new { });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        (await buyer.AvailableAsync()).ShouldBe(150_000);
        (await StatusAsync(sdk, client, outTradeNo)).ShouldBe("TRADE_SUCCESS");

        // The merchant's next retry answers the payment; the notification fires as for any payment.
        var after = await sdk.ExecAsync(client, "alipay.trade.pay", pay, sdk.NotifyUrl);
        after["code"]!.GetValue<string>().ShouldBe("10000", after.ToJsonString());
        after["tradeNo"]!.GetValue<string>().ShouldBe(tradeNo);
        await server.CountEventuallyAsync(1, "SELECT count(*) FROM notify_deliveries WHERE trade_no = @tradeNo AND event = 'payment'", new { tradeNo });
        (await buyer.AvailableAsync()).ShouldBe(150_000);
        await server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_bar_code_payment_up_to_the_threshold_is_taken_at_once()
    {
        var (sdk, client, buyer) = await SetUpAsync(200_000);
        var code = await PaymentCodeAsync(buyer);
        var outTradeNo = "EDGE-" + Guid.NewGuid().ToString("N");
        var paid = await sdk.ExecAsync(client, "alipay.trade.pay",
            new { out_trade_no = outTradeNo, scene = "bar_code", auth_code = code, total_amount = AlipayYuan(Threshold), subject = "条码支付" });
        paid["code"]!.GetValue<string>().ShouldBe("10000", paid.ToJsonString());
        (await buyer.AvailableAsync()).ShouldBe(200_000 - Threshold);
        (await StatusAsync(sdk, client, outTradeNo)).ShouldBe("TRADE_SUCCESS");
    }

    [Fact]
    public async Task Another_user_cannot_confirm_a_waiting_trade()
    {
        var (sdk, client, buyer) = await SetUpAsync(300_000);
        var code = await PaymentCodeAsync(buyer);
        var outTradeNo = "OTHER-" + Guid.NewGuid().ToString("N");
        var waiting = await sdk.ExecAsync(client, "alipay.trade.pay",
            new { out_trade_no = outTradeNo, scene = "bar_code", auth_code = code, total_amount = "2000.00", subject = "条码支付" });
        waiting["code"]!.GetValue<string>().ShouldBe("10003", waiting.ToJsonString());
        var stranger = await SecureUser.CreateAsync(server.Http, GatewayServer.OperatorKey);
        await stranger.TopUpAsync(300_000);
        (await stranger.PostAsync($"/v1/trades/{waiting["tradeNo"]!.GetValue<string>()}/pay", new { })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await stranger.AvailableAsync()).ShouldBe(300_000);
        (await buyer.AvailableAsync()).ShouldBe(300_000);
        (await StatusAsync(sdk, client, outTradeNo)).ShouldBe("WAIT_BUYER_PAY");
    }

    private static string AlipayYuan(long fen) => (fen / 100).ToString(System.Globalization.CultureInfo.InvariantCulture) + "." + (fen % 100).ToString("D2", System.Globalization.CultureInfo.InvariantCulture);
}

public sealed class SqliteCodePayConfirmTests(SqliteSecureGatewayServer server) : CodePayConfirmTests<SqliteSecureGatewayServer>(server);

public sealed class PostgresCodePayConfirmTests(PostgresSecureGatewayServer server) : CodePayConfirmTests<PostgresSecureGatewayServer>(server);
