using System.Net;
using System.Text.Json;
using Dapper;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Money;

/// <summary>
/// Every money movement commits its domain event with its postings, through the pipeline: transfers, top-ups and
/// withdrawals (succeeded and failed), and trades paid, refunded, settled and closed. A refused movement appends none,
/// and a replayed one appends nothing new.
/// </summary>
public abstract class MoneyEventTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private GatewayServer Server { get; } = server;

    private async Task<List<(string Type, JsonElement Payload)>> EventsAsync(string stream)
    {
        await using var connection = await Server.Db.OpenAsync();
        var rows = await connection.QueryAsync<(string Type, string Payload)>(
            "SELECT type, payload FROM domain_events WHERE stream = @stream ORDER BY tx_id, seq", new { stream });
        return [.. rows.Select(r => (r.Type, JsonDocument.Parse(r.Payload).RootElement.Clone()))];
    }

    [Fact]
    public async Task Transfers_top_ups_and_withdrawals_commit_their_events()
    {
        var alice = await Server.BuyerAsync(10_000, "Alice");
        var bob = await Server.BuyerAsync(0, "Bob");

        using (var sent = await alice.PostAsync("/v1/transfers", new { to_phone = bob.Phone, amount = 2_500 }, "ev-transfer"))
        {
            sent.StatusCode.ShouldBe(HttpStatusCode.Created);
            var id = await sent.IdAsync();
            using (var replay = await alice.PostAsync("/v1/transfers", new { to_phone = bob.Phone, amount = 2_500 }, "ev-transfer"))
                replay.StatusCode.ShouldBe(HttpStatusCode.Created);
            var events = await EventsAsync("transfer:" + id.ToString("N"));
            var (type, payload) = events.ShouldHaveSingleItem();
            type.ShouldBe("transfer.completed");
            payload.GetProperty("from_user_id").GetGuid().ShouldBe(alice.UserId);
            payload.GetProperty("to_user_id").GetGuid().ShouldBe(bob.UserId);
            payload.GetProperty("amount_minor").GetInt64().ShouldBe(2_500);
        }

        // Refused for want of funds: nothing moved, so nothing happened.
        (await Server.CountAsync("SELECT count(*) FROM domain_events WHERE type = 'transfer.completed'")).ShouldBe(1);
        await (await bob.PostAsync("/v1/transfers", new { to_phone = alice.Phone, amount = 9_999_999 })).ShouldBeProblemAsync(422, "insufficient_funds");
        (await Server.CountAsync("SELECT count(*) FROM domain_events WHERE type = 'transfer.completed'")).ShouldBe(1);

        await using (var connection = await Server.Db.OpenAsync())
        {
            var payloads = await connection.QueryAsync<string>("SELECT payload FROM domain_events WHERE type = 'top_up.succeeded'");
            payloads.Count(p => JsonDocument.Parse(p).RootElement.GetProperty("owner_id").GetGuid() == alice.UserId).ShouldBe(1, "the fixture's top-up");
        }

        // A declined top-up (the sandbox bank declines 6.66) and a withdrawal.
        using (var declined = await bob.PostAsync("/v1/topups", new { amount = 666 }))
        {
            var id = await declined.IdAsync();
            await Poll.UntilAsync(async () => (await EventsAsync("top_up:" + id.ToString("N"))).Count == 1, "the declined top-up's event");
            var (type, payload) = (await EventsAsync("top_up:" + id.ToString("N"))).Single();
            type.ShouldBe("top_up.failed");
            payload.GetProperty("owner_id").GetGuid().ShouldBe(bob.UserId);
            payload.GetProperty("channel").GetString().ShouldBe("sandbox");
        }
        using (var withdrawal = await alice.PostAsync("/v1/withdrawals", new { amount = 1_000 }))
        {
            var id = await withdrawal.IdAsync();
            await Poll.UntilAsync(async () => (await EventsAsync("withdrawal:" + id.ToString("N"))).Count == 1, "the withdrawal's event");
            var (type, payload) = (await EventsAsync("withdrawal:" + id.ToString("N"))).Single();
            type.ShouldBe("withdrawal.succeeded");
            payload.GetProperty("owner_id").GetGuid().ShouldBe(alice.UserId);
            payload.GetProperty("amount_minor").GetInt64().ShouldBe(1_000);
        }
    }

    [Fact]
    public async Task Trades_paid_refunded_and_closed_commit_their_events()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 100);
        var caller = Server.Caller(app);
        var buyer = await Server.BuyerAsync(10_000);
        var paidNo = "EV-" + Guid.NewGuid().ToString("N");
        var qr = (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = paidNo, total_amount = "20.00", subject = "事件" })).ShouldBe("10000")["qr_code"]!;
        using (var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr }))
            paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        var tradeNo = (await caller.CallAsync("alipay.trade.query", new { out_trade_no = paidNo })).ShouldBe("10000")["trade_no"]!;
        (await caller.CallAsync("alipay.trade.refund", new { out_trade_no = paidNo, refund_amount = "5.00", out_request_no = "R1" })).ShouldBe("10000");
        (await caller.CallAsync("alipay.trade.refund", new { out_trade_no = paidNo, refund_amount = "5.00", out_request_no = "R1" })).ShouldBe("10000");

        var events = await EventsAsync("trade:" + tradeNo);
        events.Select(e => e.Type).ShouldBe(["trade.paid", "trade.refunded"]);
        events[0].Payload.GetProperty("buyer_id").GetGuid().ShouldBe(buyer.UserId);
        events[0].Payload.GetProperty("amount_minor").GetInt64().ShouldBe(2_000);
        events[0].Payload.GetProperty("fee_minor").GetInt64().ShouldBe(20);
        events[1].Payload.GetProperty("out_request_no").GetString().ShouldBe("R1");
        events[1].Payload.GetProperty("refunded_total_minor").GetInt64().ShouldBe(500);

        var closedNo = "EV-" + Guid.NewGuid().ToString("N");
        (await caller.CallAsync("alipay.trade.precreate", new { out_trade_no = closedNo, total_amount = "1.00", subject = "关" })).ShouldBe("10000");
        var closedTradeNo = (await caller.CallAsync("alipay.trade.close", new { out_trade_no = closedNo })).ShouldBe("10000")["trade_no"]!;
        (await EventsAsync("trade:" + closedTradeNo)).Select(e => e.Type).ShouldBe(["trade.closed"]);
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteMoneyEventTests(SqliteGatewayServer server) : MoneyEventTests<SqliteGatewayServer>(server);

public sealed class PostgresMoneyEventTests(PostgresGatewayServer server) : MoneyEventTests<PostgresGatewayServer>(server);
