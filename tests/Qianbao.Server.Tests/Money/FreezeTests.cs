using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Money;

/// <summary>
/// An operator's freeze, enforced by the money pipeline for every module: a frozen wallet receives transfers and
/// top-ups but cannot send, pay (natively or through the gateway) or withdraw; nothing moves when it is refused.
/// </summary>
public abstract class FreezeTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private GatewayServer Server { get; } = server;

    private async Task<HttpResponseMessage> FreezeAsync(Guid userId, bool freeze, object? body = null) =>
        await Server.OperatorSendAsync(HttpMethod.Post, $"/admin/v1/users/{userId}/{(freeze ? "freeze" : "unfreeze")}", body ?? new { reason = "case 42: suspected fraud" });

    [Fact]
    public async Task A_frozen_wallet_receives_but_cannot_send_pay_or_withdraw_until_unfrozen()
    {
        var alice = await Server.BuyerAsync(10_000, "Alice");
        var bob = await Server.BuyerAsync(5_000, "Bob");

        using (var frozen = await FreezeAsync(alice.UserId, freeze: true))
        {
            frozen.StatusCode.ShouldBe(HttpStatusCode.OK, await frozen.Content.ReadAsStringAsync());
            var body = (await frozen.Content.ReadFromJsonAsync<JsonObject>())!;
            body["status"]!.GetValue<string>().ShouldBe("frozen");
            body["frozen_reason"]!.GetValue<string>().ShouldBe("case 42: suspected fraud");
            body["id"]!.GetValue<Guid>().ShouldBe(alice.UserId);
        }
        var before = await Server.LedgerFingerprintAsync();

        // Send, withdraw: refused with the stable code; nothing moved.
        await (await alice.PostAsync("/v1/transfers", new { to_phone = bob.Phone, amount = 100 }, "frozen-send")).ShouldBeProblemAsync(422, "account_frozen");
        await (await alice.PostAsync("/v1/withdrawals", new { amount = 100 })).ShouldBeProblemAsync(422, "account_frozen");

        // Pay a QR trade natively, and by payment code through the gateway.
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 60);
        var caller = Server.Caller(app);
        var qr = (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = "FZ-" + Guid.NewGuid().ToString("N"), total_amount = "1.00", subject = "冻结" }))
            .ShouldBe("10000")["qr_code"]!;
        await (await alice.PostAsync("/v1/qr-payments", new { qr_code = qr })).ShouldBeProblemAsync(422, "account_frozen");
        using var issued = await alice.PostAsync("/v1/payment-codes", new { });
        var code = (await issued.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
        (await caller.CallAsync("alipay.trade.pay", new { out_trade_no = "FZ-" + Guid.NewGuid().ToString("N"), scene = "bar_code", auth_code = code, total_amount = "1.00", subject = "冻结" }))
            .ShouldBe("40004", "ACQ.BUYER_ENABLE_STATUS_FORBID");
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);
        (await alice.AvailableAsync()).ShouldBe(10_000);

        // Money still comes in: a transfer from Bob and a top-up.
        using (var received = await bob.PostAsync("/v1/transfers", new { to_phone = alice.Phone, amount = 700 }))
            received.StatusCode.ShouldBe(HttpStatusCode.Created, await received.Content.ReadAsStringAsync());
        await alice.TopUpAsync(300);
        (await alice.AvailableAsync()).ShouldBe(11_000);

        // Freezing again keeps the first freeze; unfreezing restores sending, and the refused key was not spent.
        using (var again = await FreezeAsync(alice.UserId, freeze: true, new { reason = "another reason" }))
            (await again.Content.ReadFromJsonAsync<JsonObject>())!["frozen_reason"]!.GetValue<string>().ShouldBe("case 42: suspected fraud");
        using (var unfrozen = await FreezeAsync(alice.UserId, freeze: false, new { reason = "case 42 closed" }))
        {
            unfrozen.StatusCode.ShouldBe(HttpStatusCode.OK);
            var body = (await unfrozen.Content.ReadFromJsonAsync<JsonObject>())!;
            body["status"]!.GetValue<string>().ShouldBe("active");
            body["frozen_reason"].ShouldBeNull();
        }
        using (var sent = await alice.PostAsync("/v1/transfers", new { to_phone = bob.Phone, amount = 100 }, "frozen-send"))
            sent.StatusCode.ShouldBe(HttpStatusCode.Created, await sent.Content.ReadAsStringAsync());
        (await alice.AvailableAsync()).ShouldBe(10_900);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Freeze_requests_with_bad_input_are_refused_and_change_nothing()
    {
        var carol = await Server.BuyerAsync(1_000, "Carol");
        await (await FreezeAsync(carol.UserId, true, new { })).ShouldBeProblemAsync(400, "invalid_reason");
        await (await FreezeAsync(carol.UserId, true, new { reason = "  " })).ShouldBeProblemAsync(400, "invalid_reason");
        await (await FreezeAsync(carol.UserId, true, new { reason = new string('x', 501) })).ShouldBeProblemAsync(400, "invalid_reason");
        await (await FreezeAsync(Guid.NewGuid(), true)).ShouldBeProblemAsync(404, "not_found");
        using (var notAnId = await Server.OperatorSendAsync(HttpMethod.Post, "/admin/v1/users/not-a-uuid/freeze", new { reason = "x" }))
            await notAnId.ShouldBeProblemAsync(404, "not_found");
        // A user's own token is not an operator credential.
        await (await carol.PostAsync($"/admin/v1/users/{carol.UserId}/freeze", new { reason = "self" })).ShouldBeProblemAsync(401, "unauthorized");

        using (var sent = await carol.PostAsync("/v1/transfers", new { to_user_id = (await Server.BuyerAsync(0)).UserId, amount = 100 }))
            sent.StatusCode.ShouldBe(HttpStatusCode.Created, await sent.Content.ReadAsStringAsync());
    }
}

public sealed class SqliteFreezeTests(SqliteGatewayServer server) : FreezeTests<SqliteGatewayServer>(server);

public sealed class PostgresFreezeTests(PostgresGatewayServer server) : FreezeTests<PostgresGatewayServer>(server);
