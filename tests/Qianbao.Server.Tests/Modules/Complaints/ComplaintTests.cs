using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Modules.Complaints;

/// <summary>
/// Complaints: a user complains about their own trade or transfer and follows it; support replies and resolves it, a
/// refund going through the acquiring refund path exactly once; every step is a domain event.
/// </summary>
public abstract class ComplaintTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private GatewayServer Server { get; } = server;

    private Task<HttpResponseMessage> OperatorAsync(HttpMethod method, string path, object? body = null, string? key = null) =>
        Server.OperatorSendAsync(method, path, body, key);

    private static async Task<JsonObject> JsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>A merchant (fee 0.6 %) and a trade of <paramref name="fen"/> that <paramref name="buyer"/> paid; its trade_no.</summary>
    private async Task<(MerchantApp App, string TradeNo)> PaidTradeAsync(WalletClient buyer, long fen, MerchantApp? app = null)
    {
        app ??= await Server.CreateMerchantWithAppAsync(feeBps: 60);
        var qr = (await Server.Caller(app).CallAsync("alipay.trade.precreate",
            new { out_trade_no = "CP-" + Guid.NewGuid().ToString("N"), total_amount = (fen / 100m).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), subject = "投诉" }))
            .ShouldBe("10000")["qr_code"]!;
        var paid = await JsonAsync(await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr }), HttpStatusCode.OK);
        return (app, paid["trade_no"]!.GetValue<string>());
    }

    private async Task<long> EventsAsync(Guid complaintId) =>
        await Server.CountAsync("SELECT count(*) FROM domain_events WHERE stream = @stream", new { stream = "complaint:" + complaintId.ToString("N") });

    [Fact]
    public async Task A_complaint_is_replied_to_and_refunded_from_the_merchant_exactly_once_with_an_event_for_each_step()
    {
        var buyer = await Server.BuyerAsync(10_000, "投诉人");
        var stranger = await Server.BuyerAsync(0, "路人");
        var (app, tradeNo) = await PaidTradeAsync(buyer, 1_000);
        var settlementBefore = (await Server.SettlementAsync(app.MerchantId)).Available;

        var opened = await JsonAsync(await buyer.PostAsync("/v1/complaints", new { trade_no = tradeNo, category = "not_received", text = "货没收到" }), HttpStatusCode.Created);
        opened["status"]!.GetValue<string>().ShouldBe("open");
        opened["category"]!.GetValue<string>().ShouldBe("not_received");
        var id = opened["id"]!.GetValue<Guid>();
        (await EventsAsync(id)).ShouldBe(1);

        // Own only: a stranger can neither complain about the trade nor read the complaint.
        await (await stranger.PostAsync("/v1/complaints", new { trade_no = tradeNo, category = "other", text = "x" })).ShouldBeProblemAsync(404, "not_found");
        await (await stranger.GetAsync($"/v1/complaints/{id}")).ShouldBeProblemAsync(404, "not_found");
        (await stranger.GetJsonAsync("/v1/complaints"))["items"]!.AsArray().ShouldBeEmpty();

        var open = await JsonAsync(await OperatorAsync(HttpMethod.Get, "/admin/v1/complaints?status=open"), HttpStatusCode.OK);
        open["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldContain(id);
        var replied = await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id}/replies", new { text = "我们正在联系商户" }), HttpStatusCode.Created);
        replied["status"]!.GetValue<string>().ShouldBe("in_progress");
        var mine = await buyer.GetJsonAsync($"/v1/complaints/{id}");
        mine["status"]!.GetValue<string>().ShouldBe("in_progress");
        mine["replies"]!.AsArray().Single()!["text"]!.GetValue<string>().ShouldBe("我们正在联系商户");
        (await EventsAsync(id)).ShouldBe(2);

        // Refund 6.00 of 10.00 through acquiring: the buyer gets it back, the merchant pays it.
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id}/resolve", new { decision = "refund", amount = 1_001, note = "x" }))
            .ShouldBeProblemAsync(422, "refund_exceeds_paid");
        var resolved = await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id}/resolve", new { decision = "refund", amount = 600, note = "商户同意退款" }),
            HttpStatusCode.OK);
        resolved["status"]!.GetValue<string>().ShouldBe("refunded");
        resolved["refund_amount"]!.GetValue<long>().ShouldBe(600);
        (await buyer.AvailableAsync()).ShouldBe(9_600);
        var settlementAfter = (await Server.SettlementAsync(app.MerchantId)).Available;
        (settlementBefore - settlementAfter).ShouldBeInRange(596, 600); // the refunded part's fee comes back to the merchant first

        // Again: the same answer, nothing moves twice; the other decision is refused.
        (await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id}/resolve", new { decision = "refund", amount = 600, note = "again" }),
            HttpStatusCode.OK))["status"]!.GetValue<string>().ShouldBe("refunded");
        (await buyer.AvailableAsync()).ShouldBe(9_600);
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id}/resolve", new { decision = "reject", note = "x" })).ShouldBeProblemAsync(409, "complaint_closed");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id}/replies", new { text = "late" })).ShouldBeProblemAsync(409, "complaint_closed");
        (await Server.CountAsync("SELECT count(*) FROM trade_refunds WHERE trade_no = @tradeNo", new { tradeNo })).ShouldBe(1);
        (await EventsAsync(id)).ShouldBe(3);
        (await Server.CountAsync("SELECT count(*) FROM domain_events WHERE stream = @s AND type = 'trade.refunded'", new { s = "trade:" + tradeNo })).ShouldBe(1);
        (await Server.CountAsync("SELECT count(*) FROM domain_events WHERE stream = @s AND type = 'complaint.resolved'", new { s = "complaint:" + id.ToString("N") })).ShouldBe(1);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_rejection_moves_nothing_and_a_transfer_complaint_belongs_to_either_side_of_it()
    {
        var alice = await Server.BuyerAsync(5_000, "Alice");
        var bob = await Server.BuyerAsync(0, "Bob");
        var eve = await Server.BuyerAsync(0, "Eve");
        var sent = await JsonAsync(await alice.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 700 }), HttpStatusCode.Created);
        var transferId = sent["id"]!.GetValue<Guid>();

        var byBob = await JsonAsync(await bob.PostAsync("/v1/complaints", new { transfer_id = transferId, category = "wrong_amount", text = "少了" }), HttpStatusCode.Created);
        await (await eve.PostAsync("/v1/complaints", new { transfer_id = transferId, category = "other", text = "x" })).ShouldBeProblemAsync(404, "not_found");
        var id = byBob["id"]!.GetValue<Guid>();
        var before = await Server.LedgerFingerprintAsync();
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id}/resolve", new { decision = "refund", note = "x" }))
            .ShouldBeProblemAsync(422, "complaint_not_refundable");
        var rejected = await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id}/resolve", new { decision = "reject", note = "金额无误" }), HttpStatusCode.OK);
        rejected["status"]!.GetValue<string>().ShouldBe("rejected");
        rejected["resolution_note"]!.GetValue<string>().ShouldBe("金额无误");
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);
        (await EventsAsync(id)).ShouldBe(2);
        (await bob.GetJsonAsync("/v1/complaints"))["items"]!.AsArray().Single()!["status"]!.GetValue<string>().ShouldBe("rejected");

        // Bad input.
        await (await alice.PostAsync("/v1/complaints", new { category = "angry", text = "x" })).ShouldBeProblemAsync(400, "invalid_category");
        await (await alice.PostAsync("/v1/complaints", new { category = "other", text = " " })).ShouldBeProblemAsync(400, "invalid_text");
        await (await alice.PostAsync("/v1/complaints", new { category = "other", text = "x", trade_no = "T1", transfer_id = transferId })).ShouldBeProblemAsync(400, "invalid_subject");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id}/resolve", new { decision = "maybe", note = "x" })).ShouldBeProblemAsync(400, "invalid_decision");
        await (await OperatorAsync(HttpMethod.Get, "/admin/v1/complaints?status=angry")).ShouldBeProblemAsync(400, "invalid_status");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{Guid.NewGuid()}/replies", new { text = "x" })).ShouldBeProblemAsync(404, "not_found");
        // A user's token is not an operator's.
        using (var asUser = await alice.GetAsync("/admin/v1/complaints")) ((int)asUser.StatusCode).ShouldBe(401);
    }

    [Fact]
    public async Task A_refund_the_merchant_cannot_cover_is_refused_and_the_complaint_stays_open()
    {
        var buyer = await Server.BuyerAsync(5_000, "买家");
        var (app, tradeNo) = await PaidTradeAsync(buyer, 1_000);
        var available = (await Server.SettlementAsync(app.MerchantId)).Available;
        (await OperatorAsync(HttpMethod.Post, $"/admin/v1/merchants/{app.MerchantId}/payouts", new { amount = available, currency = "CNY" }, "drain-" + tradeNo))
            .StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var id = await (await buyer.PostAsync("/v1/complaints", new { trade_no = tradeNo, category = "unauthorised", text = "不是我付的" })).IdAsync();
        // The sandbox bank confirms the payout a moment later: wait, so the fingerprint below sees only what the refund does.
        await Poll.UntilAsync(async () => (await Server.LedgerFingerprintAsync()).EndsWith("/0/0", StringComparison.Ordinal),
            "the payout to be confirmed");

        var before = await Server.LedgerFingerprintAsync();
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id}/resolve", new { decision = "refund", note = "全额退款" }))
            .ShouldBeProblemAsync(422, "merchant_balance_insufficient");
        (await Server.LedgerFingerprintAsync()).ShouldBe(before);
        (await buyer.GetJsonAsync($"/v1/complaints/{id}"))["status"]!.GetValue<string>().ShouldBe("open");
        (await EventsAsync(id)).ShouldBe(1);

        // A frozen merchant pays nothing out either.
        var (app2, trade2) = await PaidTradeAsync(buyer, 500);
        var id2 = await (await buyer.PostAsync("/v1/complaints", new { trade_no = trade2, category = "merchant_service", text = "态度差" })).IdAsync();
        (await OperatorAsync(HttpMethod.Post, $"/admin/v1/merchants/{app2.MerchantId}/freeze", new { reason = "case" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id2}/resolve", new { decision = "refund", note = "x" })).ShouldBeProblemAsync(422, "merchant_frozen");
        (await OperatorAsync(HttpMethod.Post, $"/admin/v1/merchants/{app2.MerchantId}/unfreeze", new { reason = "case" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/complaints/{id2}/resolve", new { decision = "refund", note = "x" }), HttpStatusCode.OK))
            ["refund_amount"]!.GetValue<long>().ShouldBe(500);
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteComplaintTests(SqliteGatewayServer server) : ComplaintTests<SqliteGatewayServer>(server);

public sealed class PostgresComplaintTests(PostgresGatewayServer server) : ComplaintTests<PostgresGatewayServer>(server);
