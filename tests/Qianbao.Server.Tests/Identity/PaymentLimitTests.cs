using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Identity;

/// <summary>The gateway's server with account security on (and no new-device step-up), for merchant payments against tier limits.</summary>
public abstract class SecureGatewayServer(DatabaseEngine engine) : GatewayServer(engine)
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Qianbao:Security:Relaxed", "false");
        builder.UseSetting("Qianbao:Security:NewDeviceStepUpHours", "0");
    }
}

public sealed class SecureSqliteGatewayServer() : SecureGatewayServer(DatabaseEngine.Sqlite);

public sealed class SecurePostgresGatewayServer() : SecureGatewayServer(DatabaseEngine.Postgres);

/// <summary>Merchant payments (QR natively, bar code through the gateway) count against the buyer's tier limits, in the ledger.</summary>
public abstract class PaymentLimitTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : SecureGatewayServer
{
    private Task<SecureUser> BuyerAsync() => SecureUser.CreateAsync(server.Http, GatewayServer.OperatorKey);

    private static async Task<string> QrAsync(GatewayCaller caller, string amount) =>
        (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = "LIM-" + Guid.NewGuid().ToString("N"), total_amount = amount, subject = "限额" }))
            .ShouldBe("10000")["qr_code"]!;

    [Fact]
    public async Task Twenty_concurrent_qr_payments_of_100_yuan_against_1000_remaining_let_exactly_ten_through()
    {
        var buyer = await BuyerAsync();
        await buyer.TopUpAsync(300_000);
        var app = await server.CreateMerchantWithAppAsync(feeBps: 60);
        var caller = server.Caller(app);
        var codes = new List<string>();
        for (var i = 0; i < 20; i++) codes.Add(await QrAsync(caller, "100.00"));

        var responses = await Task.WhenAll(codes.Select(qr => buyer.PostAsync("/v1/qr-payments", new { qr_code = qr })));
        var statuses = responses.Select(r => (int)r.StatusCode).ToArray();
        statuses.Count(s => s == 200).ShouldBe(10, string.Join(",", statuses));
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
            await refused.ShouldBeProblemAsync(422, "limit_exceeded");
        (await buyer.AvailableAsync()).ShouldBe(200_000);
        (await server.SettlementAsync(app.MerchantId)).Available.ShouldBe(100_000 - 10 * 60);
        (await server.CountAsync("SELECT COUNT(*) FROM trades WHERE status = 'TRADE_SUCCESS' AND app_id = @a", new { a = app.AppId })).ShouldBe(10);
        var limits = await buyer.GetJsonAsync("/v1/me/limits");
        limits["limits"]!.AsArray().Single(l => l!["period"]!.GetValue<string>() == "total")!["used"]!.GetValue<long>().ShouldBe(100_000);
        await server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task The_gateway_answers_a_limit_with_alipay_s_day_and_month_sub_codes()
    {
        var buyer = await BuyerAsync();
        await buyer.TopUpAsync(300_000);
        var app = await server.CreateMerchantWithAppAsync(feeBps: 0);
        var caller = server.Caller(app);

        async Task<GatewayAnswer> PayByCodeAsync(string amount)
        {
            using var issued = await buyer.PostAsync("/v1/payment-codes", new { });
            issued.StatusCode.ShouldBe(HttpStatusCode.Created, await issued.Content.ReadAsStringAsync());
            var code = (await issued.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
            return await caller.CallAsync("alipay.trade.pay", new
            {
                out_trade_no = "LIM-" + Guid.NewGuid().ToString("N"), scene = "bar_code", auth_code = code, total_amount = amount, subject = "限额",
            });
        }

        (await PayByCodeAsync("900.00")).ShouldBe("10000");
        var before = await server.LedgerFingerprintAsync();
        var refused = (await PayByCodeAsync("200.00")).ShouldBe("40004", "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR");
        refused["trade_no"].ShouldNotBeNull();
        (await server.LedgerFingerprintAsync()).ShouldBe(before);
        (await buyer.AvailableAsync()).ShouldBe(210_000);

        // A QR payment over the rest is refused natively with what is left.
        var qr = await QrAsync(caller, "200.00");
        using var native = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr });
        var body = JsonNode.Parse(await native.Content.ReadAsStringAsync())!;
        ((int)native.StatusCode).ShouldBe(422, body.ToJsonString());
        body["code"]!.GetValue<string>().ShouldBe("limit_exceeded");
        body["limit"]!.GetValue<string>().ShouldBe("daily");
        body["remaining"]!.GetValue<long>().ShouldBe(10_000);
        // The trade still waits: the buyer can pay it once the account is raised.
        using (var raised = await server.OperatorSendAsync(HttpMethod.Post, $"/admin/v1/users/{buyer.UserId}/tier", new { tier = "class_ii", note = "card seen" }))
            raised.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await server.AssertLedgerOkAsync();
    }
}

public sealed class SqlitePaymentLimitTests(SecureSqliteGatewayServer server) : PaymentLimitTests<SecureSqliteGatewayServer>(server);

public sealed class PostgresPaymentLimitTests(SecurePostgresGatewayServer server) : PaymentLimitTests<SecurePostgresGatewayServer>(server);
