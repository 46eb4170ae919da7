using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>Operator work on merchants: payouts of settlement balances by the withdrawal flow, and platform key rotation.</summary>
public abstract class MerchantOperatorTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private GatewayServer Server { get; } = server;

    [Fact]
    public async Task A_merchant_payout_holds_then_pays_out_its_settlement_balance()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 100);
        var caller = Server.Caller(app);
        var buyer = await Server.BuyerAsync(10_000);
        var qr = (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = "PO-" + Guid.NewGuid().ToString("N"), total_amount = "50.00", subject = "出金" }))
            .ShouldBe("10000")["qr_code"]!;
        using (var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr }))
            paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((4_950L, 0L)); // 50.00 less the 1% fee

        // More than the balance: refused, nothing held.
        var tooMuch = await PayoutAsync(app.MerchantId, 4_951, "po-too-much");
        await tooMuch.ShouldBeProblemAsync(422, "insufficient_funds");

        var payout = await PayoutAsync(app.MerchantId, 4_000, "po-1");
        payout.StatusCode.ShouldBe(HttpStatusCode.Accepted, await payout.Content.ReadAsStringAsync());
        var id = await payout.IdAsync();
        // The same key again: the first answer, and no second hold.
        var replay = await PayoutAsync(app.MerchantId, 4_000, "po-1");
        (await replay.IdAsync()).ShouldBe(id);

        await Poll.UntilAsync(async () =>
        {
            using var status = await Server.OperatorSendAsync(HttpMethod.Get, $"/admin/v1/merchants/{app.MerchantId}/payouts/{id}");
            return (await status.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>() == "succeeded";
        }, "the payout to be paid by the sandbox bank");
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((950L, 0L));

        // Someone else's payout id, and an unknown merchant: 404.
        var other = await Server.CreateMerchantAsync(feeBps: 0);
        using (var stranger = await Server.OperatorSendAsync(HttpMethod.Get, $"/admin/v1/merchants/{other}/payouts/{id}"))
            await stranger.ShouldBeProblemAsync(404, "not_found");
        await (await PayoutAsync(Guid.NewGuid(), 100, "po-nobody")).ShouldBeProblemAsync(404, "not_found");
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task After_rotation_responses_are_signed_with_the_new_key_only()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        using var before = await Server.OperatorSendAsync(HttpMethod.Get, "/admin/v1/platform-keys");
        var oldKey = (await before.Content.ReadFromJsonAsync<JsonObject>())!;

        using var rotated = await Server.OperatorSendAsync(HttpMethod.Post, "/admin/v1/platform-keys/rotate");
        rotated.StatusCode.ShouldBe(HttpStatusCode.OK);
        var newKey = (await rotated.Content.ReadFromJsonAsync<JsonObject>())!;
        newKey["platform_key_id"]!.GetValue<string>().ShouldNotBe(oldKey["platform_key_id"]!.GetValue<string>());

        var query = new { out_trade_no = "nope-" + Guid.NewGuid().ToString("N") };
        // A caller that verifies with the new public key accepts the answer; one holding the old key rejects it.
        (await new GatewayCaller(Server.Http, app.AppId, SdkKeys.App, newKey["platform_public_key"]!.GetValue<string>())
            .CallAsync("alipay.trade.query", query)).ShouldBe("40004", "ACQ.TRADE_NOT_EXIST");
        var oldKeyAccepted = true;
        try
        {
            await new GatewayCaller(Server.Http, app.AppId, SdkKeys.App, oldKey["platform_public_key"]!.GetValue<string>()).CallAsync("alipay.trade.query", query);
        }
        // Matched on GatewayAnswer.Parse's own message: Shouldly's quoted expression comes from the source by the stack frame's
        // line, which an optimised (Release) build can attribute to a neighbouring statement.
        catch (ShouldAssertException e) when (e.Message.Contains("response signature: ", StringComparison.Ordinal))
        {
            oldKeyAccepted = false;
        }
        oldKeyAccepted.ShouldBeFalse("a response signed with the new key must not verify with the old one");
    }

    private Task<HttpResponseMessage> PayoutAsync(Guid merchantId, long amount, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/merchants/{merchantId}/payouts") { Content = JsonContent.Create(new { amount, currency = "CNY" }) };
        request.Headers.Authorization = new("Bearer", GatewayServer.OperatorKey);
        request.Headers.Add("Idempotency-Key", key);
        return Server.Http.SendAsync(request);
    }
}

public sealed class SqliteMerchantOperatorTests(SqliteGatewayServer server) : MerchantOperatorTests<SqliteGatewayServer>(server);

public sealed class PostgresMerchantOperatorTests(PostgresGatewayServer server) : MerchantOperatorTests<PostgresGatewayServer>(server);
