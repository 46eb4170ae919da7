using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Points;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>
/// Reminders and cashback: a coupon expiring within 24 h and the points of an earning month expiring within 7 days are each
/// notified once however often the sweep runs (on the server's moved clock); a <c>cashback.posted</c> event notifies its
/// person once, also when delivered again. Both engines.
/// </summary>
public abstract class ReminderNotificationTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : PointsServer
{
    private static DateTimeOffset ChinaTime(int year, int month, int day, int hour = 0, int minute = 0) => new(year, month, day, hour, minute, 0, PointsServer.China);

    private static async Task<List<JsonNode>> InboxAsync(WalletClient user, string type) =>
        (await user.GetJsonAsync("/v1/notifications?limit=100"))["items"]!.AsArray().Where(i => i!["type"]!.GetValue<string>() == type).Select(i => i!).ToList();

    private Task<int> SweepAsync() => server.Services.GetRequiredService<ExpiryReminders>().SweepOnceAsync(CancellationToken.None);

    [Fact]
    public async Task Points_of_a_month_are_reminded_once_within_seven_days_of_expiring_and_a_coupon_once_within_24_hours()
    {
        server.SetNow(ChinaTime(2026, 1, 15, 12));
        var app = await server.CreateMerchantWithAppAsync(60);
        var buyer = await server.BuyerAsync(10_000);
        await server.PayAsync(app, buyer, "10.00");
        await server.PayAsync(app, buyer, "2.00");
        await PointsServer.BalanceEventuallyAsync(buyer, 12); // January's lots: expire 2027-02-01 00:00 China

        // 7 days and an hour before: not yet.
        server.SetNow(ChinaTime(2027, 1, 24, 23));
        buyer = await server.SignInAgainAsync(buyer);
        await SweepAsync();
        (await InboxAsync(buyer, "points_expiring")).ShouldBeEmpty();

        // Within 7 days: one reminder for the month's 12 points; sweeping again adds none.
        server.SetNow(ChinaTime(2027, 1, 25, 1));
        buyer = await server.SignInAgainAsync(buyer);
        await SweepAsync();
        await SweepAsync();
        var points = await InboxAsync(buyer, "points_expiring");
        points.Count.ShouldBe(1);
        points[0]["category"]!.GetValue<string>().ShouldBe("transaction");
        points[0]["body"]!.GetValue<string>().ShouldContain("12");
        points[0]["body"]!.GetValue<string>().ShouldContain("2027-02-01 00:00");

        // A coupon valid two days: no reminder at its claim, one once it is within 24 hours of expiring.
        var campaign = await OperatorJsonAsync("/admin/v1/campaigns", new Dictionary<string, object?>
        {
            ["name"] = "咖啡券", ["kind"] = "coupon", ["funding"] = new { source = "platform" }, ["budget"] = new { amount = 10_000, currency = "CNY" },
            ["starts_at"] = Iso(TimeSpan.FromMinutes(-5)), ["ends_at"] = Iso(TimeSpan.FromDays(30)),
            ["coupon"] = new { type = "fixed", amount = 500, stock = 10, valid_days = 2 },
        });
        var claimed = await buyer.PostAsync("/v1/coupons", new { campaign_id = campaign["id"]!.GetValue<Guid>() });
        claimed.StatusCode.ShouldBe(HttpStatusCode.Created, await claimed.Content.ReadAsStringAsync());
        await SweepAsync();
        (await InboxAsync(buyer, "coupon_expiring")).ShouldBeEmpty();

        server.Clock.Advance(TimeSpan.FromHours(25));
        buyer = await server.SignInAgainAsync(buyer);
        await SweepAsync();
        await SweepAsync();
        var coupon = await InboxAsync(buyer, "coupon_expiring");
        coupon.Count.ShouldBe(1);
        coupon[0]["body"]!.GetValue<string>().ShouldContain("咖啡券");
        (await InboxAsync(buyer, "points_expiring")).Count.ShouldBe(1);

        // Past its expiry the coupon is no longer available: nothing more.
        server.Clock.Advance(TimeSpan.FromDays(1));
        buyer = await server.SignInAgainAsync(buyer);
        await SweepAsync();
        (await InboxAsync(buyer, "coupon_expiring")).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Cashback_posted_is_notified_once_to_its_person()
    {
        var buyer = await server.BuyerAsync(0);
        var posted = new CashbackPosted(Guid.NewGuid(), buyer.UserId, "T-1", Guid.NewGuid(), 1_250, "CNY");
        var stored = new StoredEvent(new(0, 1), Guid.NewGuid(), "cashback.posted", posted.Stream, EventTypes.Serialize(posted),
            server.Clock.GetUtcNow().ToUnixTimeMilliseconds() * 1000);
        var subscriber = server.Services.GetServices<IEventSubscriber>().Single(s => s.Name == TransactionNotificationSubscriber.SubscriberName);
        subscriber.Handles!.ShouldContain("cashback.posted");
        await subscriber.HandleAsync([stored], CancellationToken.None);
        await subscriber.HandleAsync([stored], CancellationToken.None);
        var items = await InboxAsync(buyer, "cashback_posted");
        items.Count.ShouldBe(1);
        items[0]["body"]!.GetValue<string>().ShouldContain("12.50");
    }

    private string Iso(TimeSpan fromNow) => (server.Clock.GetUtcNow() + fromNow).ToString("yyyy-MM-ddTHH:mm:ss.fffZ");

    private async Task<JsonObject> OperatorJsonAsync(string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new("Bearer", GatewayServer.OperatorKey);
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        using var response = await server.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.Created, text);
        return JsonNode.Parse(text)!.AsObject();
    }
}

public sealed class SqliteReminderNotificationTests(SqlitePointsServer server) : ReminderNotificationTests<SqlitePointsServer>(server);

public sealed class PostgresReminderNotificationTests(PostgresPointsServer server) : ReminderNotificationTests<PostgresPointsServer>(server);
