using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Points;

/// <summary>
/// Points earned by payments (exact floors, exactly once under redelivery), taken back in proportion by refunds, a shortfall
/// withheld from later earnings, and PTS kept out of the money API; on each engine, with the ledger check after each.
/// </summary>
public abstract class PointsTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : PointsServer
{
    private const int FeeBps = 60;

    protected TServer Server { get; } = server;

    [Fact]
    public async Task A_payment_earns_the_floor_of_its_yuan()
    {
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var buyer = await Server.BuyerAsync(10_000);
        // Under a yuan earns nothing and records nothing (events are handled in order, so the later earnings show it was handled).
        await Server.PayAsync(app, buyer, "0.99");
        var (first, _) = await Server.PayAsync(app, buyer, "9.99");
        await PointsServer.BalanceEventuallyAsync(buyer, 9);
        var (second, _) = await Server.PayAsync(app, buyer, "10.00");
        await PointsServer.BalanceEventuallyAsync(buyer, 19);

        var points = await PointsServer.PointsAsync(buyer);
        points["balance"]!.GetValue<long>().ShouldBe(19);
        points["shortfall"]!.GetValue<long>().ShouldBe(0);
        var items = points["items"]!.AsArray();
        items.Count.ShouldBe(2);
        items[0]!["type"]!.GetValue<string>().ShouldBe("earn");
        items[0]!["amount"]!.GetValue<long>().ShouldBe(10);
        items[0]!["trade_no"]!.GetValue<string>().ShouldBe(second);
        items[1]!["amount"]!.GetValue<long>().ShouldBe(9);
        items[1]!["trade_no"]!.GetValue<string>().ShouldBe(first);
        // Both lots were earned this month, so they expire together: one line of 19.
        var expiring = points["expiring"]!.AsArray();
        expiring.Count.ShouldBe(1);
        expiring[0]!["amount"]!.GetValue<long>().ShouldBe(19);
        var expected = PointsRules.ExpiresAt(Server.Clock.GetUnixMicroseconds(), 12);
        expiring[0]!["expires_at"]!.GetValue<DateTimeOffset>().ShouldBe(expected);

        var export = await buyer.GetJsonAsync("/v1/me/export");
        export["points"]!["balance"]!.GetValue<long>().ShouldBe(19);
        export["points"]!["items"]!.AsArray().Count.ShouldBe(2);

        // Points are no wallet balance.
        var wallet = await buyer.GetJsonAsync("/v1/wallet");
        wallet["balances"]!.AsArray().Select(b => b!["currency"]!.GetValue<string>()).ShouldBe(["CNY"]);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Redelivered_payment_events_earn_nothing_twice()
    {
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var buyer = await Server.BuyerAsync(10_000);
        var (tradeNo, outTradeNo) = await Server.PayAsync(app, buyer, "25.50");
        await PointsServer.BalanceEventuallyAsync(buyer, 25);
        await Server.RefundAsync(app, outTradeNo, "10.20");
        await PointsServer.BalanceEventuallyAsync(buyer, 15);
        var fingerprint = await Server.LedgerFingerprintAsync(includePoints: true);

        // As after a crash between the handler's commit and its checkpoint: every retained event is delivered again.
        var subscriber = Server.Services.GetServices<IEventSubscriber>().Single(s => s.Name == PointsSubscriber.SubscriberName);
        IReadOnlyList<StoredEvent> all;
        await using (var connection = await Server.Db.OpenAsync())
        {
            all = await EventLog.ReadAsync(connection, EventPosition.Start, 100_000);
        }
        var ours = all.Where(e => e.Stream == "trade:" + tradeNo).ToList();
        ours.Count.ShouldBe(2);
        await subscriber.HandleAsync(ours, CancellationToken.None);
        await subscriber.HandleAsync(all, CancellationToken.None);

        (await PointsServer.BalanceAsync(buyer)).ShouldBe(15);
        (await Server.LedgerFingerprintAsync(includePoints: true)).ShouldBe(fingerprint);
        (await Server.CountAsync("SELECT count(*) FROM points_items WHERE trade_no = @tradeNo", new { tradeNo })).ShouldBe(2);
        (await Server.CountAsync("SELECT count(*) FROM points_lots WHERE trade_no = @tradeNo", new { tradeNo })).ShouldBe(1);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Refunds_take_back_in_proportion_and_a_full_refund_exactly_what_was_earned()
    {
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var buyer = await Server.BuyerAsync(10_000);
        var (tradeNo, outTradeNo) = await Server.PayAsync(app, buyer, "10.00");
        await PointsServer.BalanceEventuallyAsync(buyer, 10);

        // floor(10 × 0.55 / 10) = 0: nothing yet.
        await Server.RefundAsync(app, outTradeNo, "0.55");
        // floor(10 × 4.55 / 10) = 4 in all.
        await Server.RefundAsync(app, outTradeNo, "4.00");
        await PointsServer.BalanceEventuallyAsync(buyer, 6);
        await Server.AssertLedgerOkAsync();
        // The rest: exactly the 10 earned in all.
        await Server.RefundAsync(app, outTradeNo, "5.45");
        await PointsServer.BalanceEventuallyAsync(buyer, 0);

        var points = await PointsServer.PointsAsync(buyer);
        points["shortfall"]!.GetValue<long>().ShouldBe(0);
        points["expiring"]!.AsArray().ShouldBeEmpty();
        var items = points["items"]!.AsArray();
        items.Select(i => i!["type"]!.GetValue<string>()).ShouldBe(["clawback", "clawback", "earn"]);
        items.Select(i => i!["amount"]!.GetValue<long>()).ShouldBe([6L, 4L, 10L]);
        (await Server.CountAsync("SELECT clawed_back FROM points_trades WHERE trade_no = @tradeNo", new { tradeNo })).ShouldBe(10);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_clawback_the_balance_cannot_cover_is_withheld_from_later_earnings()
    {
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var buyer = await Server.BuyerAsync(10_000);
        var (_, outTradeNo) = await Server.PayAsync(app, buyer, "10.00");
        await PointsServer.BalanceEventuallyAsync(buyer, 10);

        // 8 points leave as the payment integration will redeem them: a PTS transfer to the redeemed account with FIFO consumption.
        await RedeemAsync(buyer.UserId, 8);
        (await PointsServer.BalanceAsync(buyer)).ShouldBe(2);
        (await PointsServer.PointsAsync(buyer))["expiring"]!.AsArray().Sum(e => e!["amount"]!.GetValue<long>()).ShouldBe(2);
        await Server.AssertLedgerOkAsync();

        // A full refund owes 10: 2 are taken, 8 are the shortfall; the balance never goes below zero.
        await Server.RefundAsync(app, outTradeNo, "10.00");
        await PointsServer.ItemsEventuallyAsync(buyer, 2);
        var points = await PointsServer.PointsAsync(buyer);
        points["balance"]!.GetValue<long>().ShouldBe(0);
        points["shortfall"]!.GetValue<long>().ShouldBe(8);
        points["items"]![0]!["amount"]!.GetValue<long>().ShouldBe(2);
        points["items"]![0]!["shortfall"]!.GetValue<long>().ShouldBe(8);
        await Server.AssertLedgerOkAsync();

        // The next ¥5.00 earns 5, all withheld; then ¥20.00 earns 20, 3 withheld, 17 credited.
        await Server.PayAsync(app, buyer, "5.00");
        await PointsServer.ItemsEventuallyAsync(buyer, 3);
        points = await PointsServer.PointsAsync(buyer);
        points["balance"]!.GetValue<long>().ShouldBe(0);
        points["shortfall"]!.GetValue<long>().ShouldBe(3);
        points["items"]![0]!["amount"]!.GetValue<long>().ShouldBe(0);
        points["items"]![0]!["withheld"]!.GetValue<long>().ShouldBe(5);

        await Server.PayAsync(app, buyer, "20.00");
        await PointsServer.BalanceEventuallyAsync(buyer, 17);
        points = await PointsServer.PointsAsync(buyer);
        points["shortfall"]!.GetValue<long>().ShouldBe(0);
        points["items"]![0]!["withheld"]!.GetValue<long>().ShouldBe(3);
        points["expiring"]!.AsArray().Sum(e => e!["amount"]!.GetValue<long>()).ShouldBe(17);
        await Server.AssertLedgerOkAsync();
    }

    [Theory]
    [InlineData("/v1/topups")]
    [InlineData("/v1/withdrawals")]
    [InlineData("/v1/transfers")]
    public async Task Points_are_refused_as_a_currency_of_money(string path)
    {
        var buyer = await Server.BuyerAsync(1_000);
        var other = await Server.BuyerAsync(0);
        var fingerprint = await Server.LedgerFingerprintAsync(includePoints: true);
        using var response = await buyer.PostAsync(path, new { amount = 100, currency = "PTS", to_user_id = other.UserId });
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, body);
        JsonNode.Parse(body)!["code"]!.GetValue<string>().ShouldBe("invalid_currency");
        (await Server.LedgerFingerprintAsync(includePoints: true)).ShouldBe(fingerprint);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Points_need_a_signed_in_user()
    {
        using var response = await Server.Http.GetAsync("/v1/points");
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    /// <summary>Redeems as the payment integration will (<see cref="PointsRedemption"/>), in a command of its own.</summary>
    private async Task RedeemAsync(Guid userId, long points)
    {
        var redemption = Server.Services.GetRequiredService<PointsRedemption>();
        var nowUs = Server.Clock.GetUnixMicroseconds();
        (await redemption.UsableAsync(userId, nowUs, CancellationToken.None)).ShouldBeGreaterThanOrEqualTo(points);
        await redemption.EnsureAccountsAsync(CancellationToken.None);
        var id = new TransferId(Guid.CreateVersion7());
        var command = new LedgerCommand([PointsRedemption.Transfer(id, userId, points)], guard: new PointsUserGuard(userId),
            effects: _ => [PointsRedemption.Consumed(id, userId, points, nowUs)]);
        var pipeline = Server.Services.GetRequiredService<MoneyPipeline>();
        (await pipeline.SubmitAsync(command, CancellationToken.None)).Kind.ShouldBe(MoneyOutcomeKind.Applied);
        // A replay of the same command (same transfer id) consumes nothing twice.
        (await pipeline.SubmitAsync(new LedgerCommand([PointsRedemption.Transfer(id, userId, points)], guard: new PointsUserGuard(userId),
            effects: _ => [PointsRedemption.Consumed(id, userId, points, nowUs)]), CancellationToken.None)).Kind.ShouldBe(MoneyOutcomeKind.Applied);
    }
}

public sealed class SqlitePointsTests(SqlitePointsServer server) : PointsTests<SqlitePointsServer>(server);

public sealed class PostgresPointsTests(PostgresPointsServer server) : PointsTests<PostgresPointsServer>(server);
