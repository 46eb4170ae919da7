using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Money;
using Qianbao.Server.Tests.Gateway.Sdk;

namespace Qianbao.Server.Tests.Points;

/// <summary>
/// Points expire lot by lot, first in first out, at the end of the 12th calendar month after the month they were earned
/// (China time), by the sweeper on the server's injected clock; a clawback consumes the oldest lot first, so expiry takes only
/// what is left of it. Its own server: the test moves the clock a year.
/// </summary>
public abstract class PointsExpiryTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : PointsServer
{
    protected TServer Server { get; } = server;

    private static DateTimeOffset ChinaTime(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) =>
        new(year, month, day, hour, minute, second, PointsServer.China);

    [Fact]
    public async Task Lots_expire_first_in_first_out_at_the_end_of_the_twelfth_month_after_earning()
    {
        Server.SetNow(ChinaTime(2026, 1, 15, 12));
        var app = await Server.CreateMerchantWithAppAsync(60);
        var buyer = await Server.BuyerAsync(10_000);
        var (_, january) = await Server.PayAsync(app, buyer, "10.00");
        await PointsServer.BalanceEventuallyAsync(buyer, 10);

        // Late on the last day of January, China time: still a January lot.
        Server.SetNow(ChinaTime(2026, 1, 31, 23, 30));
        buyer = await Server.SignInAgainAsync(buyer);
        await Server.PayAsync(app, buyer, "3.00");
        await PointsServer.BalanceEventuallyAsync(buyer, 13);
        // Just after midnight in China (still January 31st in UTC): a February lot, by China's calendar.
        Server.SetNow(ChinaTime(2026, 2, 1, 0, 30));
        buyer = await Server.SignInAgainAsync(buyer);
        await Server.PayAsync(app, buyer, "5.00");
        await PointsServer.BalanceEventuallyAsync(buyer, 18);

        var expiring = (await PointsServer.PointsAsync(buyer))["expiring"]!.AsArray();
        expiring.Select(e => e!["amount"]!.GetValue<long>()).ShouldBe([13L, 5L]);
        expiring.Select(e => e!["expires_at"]!.GetValue<DateTimeOffset>()).ShouldBe([ChinaTime(2027, 2, 1), ChinaTime(2027, 3, 1)]);

        // A refund of ¥3.00 of the first trade takes back 3 points from the oldest lot (FIFO).
        await Server.RefundAsync(app, january, "3.00");
        await PointsServer.BalanceEventuallyAsync(buyer, 15);
        (await Server.CountAsync("SELECT remaining FROM points_lots WHERE amount = 10 AND user_id = @u", new { u = buyer.UserId })).ShouldBe(7);
        await Server.AssertLedgerOkAsync();

        // The last minute of January 2027 in China (a minute of margin: the background sweeper runs too): nothing has expired.
        Server.SetNow(ChinaTime(2027, 1, 31, 23, 59));
        buyer = await Server.SignInAgainAsync(buyer);
        var expiry = Server.Services.GetRequiredService<PointsExpiry>();
        await expiry.SweepOnceAsync(CancellationToken.None);
        (await PointsServer.BalanceAsync(buyer)).ShouldBe(15);

        // February 1st 2027, 00:00 China: January 2026's lots expire with what is left of them (7 + 3); February's stays.
        Server.SetNow(ChinaTime(2027, 2, 1, 0, 0, 1));
        buyer = await Server.SignInAgainAsync(buyer);
        await PointsServer.BalanceEventuallyAsync(buyer, 5);
        await expiry.SweepOnceAsync(CancellationToken.None);
        (await PointsServer.BalanceAsync(buyer)).ShouldBe(5);
        var points = await PointsServer.PointsAsync(buyer);
        points["expiring"]!.AsArray().Select(e => e!["amount"]!.GetValue<long>()).ShouldBe([5L]);
        var expired = points["items"]!.AsArray().Where(i => i!["type"]!.GetValue<string>() == "expiry").ToList();
        expired.Select(i => i!["amount"]!.GetValue<long>()).Order().ShouldBe([3L, 7L]);
        await Server.AssertLedgerOkAsync();

        // March 1st 2027: the February lot goes too; each lot expired exactly once.
        Server.SetNow(ChinaTime(2027, 3, 1, 0, 0, 1));
        buyer = await Server.SignInAgainAsync(buyer);
        await PointsServer.BalanceEventuallyAsync(buyer, 0);
        await expiry.SweepOnceAsync(CancellationToken.None);
        (await Server.CountAsync("SELECT count(*) FROM points_items WHERE kind = 2")).ShouldBe(3);
        var accounts = Server.Services.GetRequiredService<LedgerAccounts>();
        var sink = ChartOfAccounts.PointsExpired();
        (await accounts.GetAsync([sink.Id], CancellationToken.None))[sink.Id].CreditBalanceAvailable.ShouldBe(15);
        (await PointsServer.PointsAsync(buyer))["expiring"]!.AsArray().ShouldBeEmpty();
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqlitePointsExpiryTests(SqlitePointsServer server) : PointsExpiryTests<SqlitePointsServer>(server);

public sealed class PostgresPointsExpiryTests(PostgresPointsServer server) : PointsExpiryTests<PostgresPointsServer>(server);
