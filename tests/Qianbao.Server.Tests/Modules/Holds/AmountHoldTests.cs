using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Modules.Holds;

/// <summary>
/// Court-ordered amount holds (a pending transfer to the judicial-hold account) and merchant freezes: the held part is
/// not spendable, the rest is; release restores it; a deduction posts it to the payee and the ledger check stays ok.
/// </summary>
public abstract class AmountHoldTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private GatewayServer Server { get; } = server;

    private Task<HttpResponseMessage> OperatorAsync(HttpMethod method, string path, object? body = null, string? key = null) =>
        Server.OperatorSendAsync(method, path, body, key);

    private Task<HttpResponseMessage> HoldAsync(Guid userId, long amount, string key, string reference = "(2026)京0105执1234号") =>
        OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{userId}/holds", new { amount, currency = "CNY", reason = "court order", reference }, key);

    private static async Task<JsonObject> JsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    private async Task LedgerCheckOkAsync()
    {
        var report = await JsonAsync(await OperatorAsync(HttpMethod.Get, "/admin/v1/ledger/check"), HttpStatusCode.OK);
        report["ok"]!.GetValue<bool>().ShouldBeTrue(report.ToJsonString());
    }

    [Fact]
    public async Task A_hold_takes_its_amount_out_of_the_available_balance_until_released_or_deducted_and_the_ledger_balances()
    {
        var alice = await Server.BuyerAsync(10_000, "Alice");
        var bob = await Server.BuyerAsync(0, "Bob");

        var held = await JsonAsync(await HoldAsync(alice.UserId, 6_000, "hold-1"), HttpStatusCode.Created);
        held["status"]!.GetValue<string>().ShouldBe("held");
        var holdId = held["id"]!.GetValue<Guid>();
        (await alice.AvailableAsync()).ShouldBe(4_000);
        // The same key again is the same hold, not a second one.
        (await JsonAsync(await HoldAsync(alice.UserId, 6_000, "hold-1"), HttpStatusCode.Created))["id"]!.GetValue<Guid>().ShouldBe(holdId);
        (await alice.AvailableAsync()).ShouldBe(4_000);

        // The rest is spendable; the held part is not.
        using (var sent = await alice.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 3_000 }))
            sent.StatusCode.ShouldBe(HttpStatusCode.Created, await sent.Content.ReadAsStringAsync());
        await (await alice.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 1_001 })).ShouldBeProblemAsync(422, "insufficient_funds");

        // A hold larger than what is available moves nothing.
        var before = await Server.LedgerFingerprintAsync();
        await (await HoldAsync(alice.UserId, 1_001, "hold-too-big")).ShouldBeProblemAsync(422, "insufficient_funds");
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);

        var list = await JsonAsync(await OperatorAsync(HttpMethod.Get, $"/admin/v1/users/{alice.UserId}/holds"), HttpStatusCode.OK);
        var only = list["items"]!.AsArray().Single()!;
        only["id"]!.GetValue<Guid>().ShouldBe(holdId);
        only["amount"]!.GetValue<long>().ShouldBe(6_000);
        only["reference"]!.GetValue<string>().ShouldBe("(2026)京0105执1234号");

        // Release restores it, once.
        var released = await JsonAsync(await OperatorAsync(HttpMethod.Delete, $"/admin/v1/users/{alice.UserId}/holds/{holdId}"), HttpStatusCode.OK);
        released["status"]!.GetValue<string>().ShouldBe("released");
        (await alice.AvailableAsync()).ShouldBe(7_000);
        (await JsonAsync(await OperatorAsync(HttpMethod.Delete, $"/admin/v1/users/{alice.UserId}/holds/{holdId}"), HttpStatusCode.OK))["status"]!
            .GetValue<string>().ShouldBe("released");
        (await alice.AvailableAsync()).ShouldBe(7_000);
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{alice.UserId}/holds/{holdId}/deduct", new { })).ShouldBeProblemAsync(409, "hold_not_held");

        // Deduct a second hold to the court's remittance account: the money leaves the wallet for good, exactly once.
        var second = (await JsonAsync(await HoldAsync(alice.UserId, 5_000, "hold-2"), HttpStatusCode.Created))["id"]!.GetValue<Guid>();
        (await alice.AvailableAsync()).ShouldBe(2_000);
        var deducted = await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{alice.UserId}/holds/{second}/deduct", new { }), HttpStatusCode.OK);
        deducted["status"]!.GetValue<string>().ShouldBe("deducted");
        deducted["payee"]!.GetValue<string>().ShouldBe("court_remittance");
        (await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{alice.UserId}/holds/{second}/deduct", new { }), HttpStatusCode.OK))["status"]!
            .GetValue<string>().ShouldBe("deducted");
        (await alice.AvailableAsync()).ShouldBe(2_000);
        var wallet = await alice.GetJsonAsync("/v1/wallet");
        wallet.ToJsonString().ShouldContain("2000");
        await (await OperatorAsync(HttpMethod.Delete, $"/admin/v1/users/{alice.UserId}/holds/{second}")).ShouldBeProblemAsync(409, "hold_not_held");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{alice.UserId}/holds/{second}/deduct", new { payee_account = "channel_clearing" }))
            .ShouldBeProblemAsync(409, "hold_not_held");

        // A frozen wallet can still be held (the court's claim is not the owner spending), and deducted to the channel.
        (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{alice.UserId}/freeze", new { reason = "court" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var third = (await JsonAsync(await HoldAsync(alice.UserId, 1_500, "hold-3", "(2026)沪01执9号"), HttpStatusCode.Created))["id"]!.GetValue<Guid>();
        (await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{alice.UserId}/holds/{third}/deduct", new { payee_account = "channel_clearing" }),
            HttpStatusCode.OK))["payee"]!.GetValue<string>().ShouldBe("channel_clearing");
        (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{alice.UserId}/unfreeze", new { reason = "done" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await alice.AvailableAsync()).ShouldBe(500);

        var all = await JsonAsync(await OperatorAsync(HttpMethod.Get, $"/admin/v1/users/{alice.UserId}/holds"), HttpStatusCode.OK);
        all["items"]!.AsArray().Select(i => i!["status"]!.GetValue<string>()).Order().ShouldBe(["deducted", "deducted", "released"]);
        await LedgerCheckOkAsync();
    }

    [Fact]
    public async Task Hold_requests_with_bad_input_are_refused_and_move_nothing()
    {
        var carol = await Server.BuyerAsync(1_000, "Carol");
        var before = await Server.LedgerFingerprintAsync();
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{carol.UserId}/holds", new { amount = 100, currency = "CNY", reason = "x" }, "k1"))
            .ShouldBeProblemAsync(400, "invalid_reference");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{carol.UserId}/holds", new { amount = 100, currency = "CNY", reference = "r" }, "k2"))
            .ShouldBeProblemAsync(400, "invalid_reason");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{carol.UserId}/holds", new { amount = 0, currency = "CNY", reason = "x", reference = "r" }, "k3"))
            .ShouldBeProblemAsync(400, "invalid_amount");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{carol.UserId}/holds", new { amount = 100, currency = "CNY", reason = "x", reference = "r" }))
            .ShouldBeProblemAsync(400, "idempotency_key_missing");
        await (await HoldAsync(Guid.NewGuid(), 100, "k4")).ShouldBeProblemAsync(404, "not_found");
        await (await OperatorAsync(HttpMethod.Delete, $"/admin/v1/users/{carol.UserId}/holds/{Guid.NewGuid()}")).ShouldBeProblemAsync(404, "not_found");
        var hold = await (await HoldAsync(carol.UserId, 100, "k5")).IdAsync();
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{carol.UserId}/holds/{hold}/deduct", new { payee_account = "my_pocket" }))
            .ShouldBeProblemAsync(400, "invalid_payee");
        // Another person's hold is not found under this one.
        var dave = await Server.BuyerAsync(0, "Dave");
        await (await OperatorAsync(HttpMethod.Delete, $"/admin/v1/users/{dave.UserId}/holds/{hold}")).ShouldBeProblemAsync(404, "not_found");
        (await carol.AvailableAsync()).ShouldBe(900);
        (await OperatorAsync(HttpMethod.Delete, $"/admin/v1/users/{carol.UserId}/holds/{hold}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Server.LedgerFingerprintAsync()).Split(';')[1..].ShouldBe(before.Split(';')[1..]);
        (await carol.AvailableAsync()).ShouldBe(1_000);
    }

    [Fact]
    public async Task A_frozen_merchant_takes_no_payments_and_no_payouts_until_unfrozen()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 60);
        var caller = Server.Caller(app);
        var buyer = await Server.BuyerAsync(10_000, "买家");
        async Task<string> PrecreateAsync() =>
            (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = "MF-" + Guid.NewGuid().ToString("N"), total_amount = "10.00", subject = "冻结商户" }))
                .ShouldBe("10000")["qr_code"]!;
        using (var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = await PrecreateAsync() }))
            paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        var waiting = await PrecreateAsync();

        var frozen = await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/merchants/{app.MerchantId}/freeze", new { reason = "fraud case 7" }), HttpStatusCode.OK);
        frozen["status"]!.GetValue<string>().ShouldBe("frozen");
        var before = await Server.LedgerFingerprintAsync();

        // No new trades, no payment of a trade opened before the freeze, natively or by payment code; no payout.
        (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = "MF-" + Guid.NewGuid().ToString("N"), total_amount = "1.00", subject = "x" }))
            .ShouldBe("40004", "ACQ.SELLER_BEEN_BLOCKED");
        await (await buyer.PostAsync("/v1/qr-payments", new { qr_code = waiting })).ShouldBeProblemAsync(422, "merchant_frozen");
        using (var issued = await buyer.PostAsync("/v1/payment-codes", new { }))
        {
            var code = (await issued.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
            (await caller.CallAsync("alipay.trade.pay", new { out_trade_no = "MF-" + Guid.NewGuid().ToString("N"), scene = "bar_code", auth_code = code, total_amount = "1.00", subject = "x" }))
                .ShouldBe("40004", "ACQ.SELLER_BEEN_BLOCKED");
        }
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/merchants/{app.MerchantId}/payouts", new { amount = 100, currency = "CNY" }, "mf-payout"))
            .ShouldBeProblemAsync(422, "account_frozen");
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);
        (await buyer.AvailableAsync()).ShouldBe(9_000);

        // Unfrozen: the waiting trade is paid and the payout goes out.
        (await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/merchants/{app.MerchantId}/unfreeze", new { reason = "cleared" }), HttpStatusCode.OK))
            ["status"]!.GetValue<string>().ShouldBe("active");
        using (var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = waiting }))
            paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        (await OperatorAsync(HttpMethod.Post, $"/admin/v1/merchants/{app.MerchantId}/payouts", new { amount = 100, currency = "CNY" }, "mf-payout"))
            .StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/merchants/{Guid.NewGuid()}/freeze", new { reason = "x" })).ShouldBeProblemAsync(404, "not_found");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/merchants/{app.MerchantId}/freeze", new { })).ShouldBeProblemAsync(400, "invalid_reason");
        await LedgerCheckOkAsync();
    }
}

public sealed class SqliteAmountHoldTests(SqliteGatewayServer server) : AmountHoldTests<SqliteGatewayServer>(server);

public sealed class PostgresAmountHoldTests(PostgresGatewayServer server) : AmountHoldTests<PostgresGatewayServer>(server);
