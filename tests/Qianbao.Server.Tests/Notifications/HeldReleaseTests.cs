using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>The quiet-hours host releasing held messages in small batches, so a release takes several passes.</summary>
public abstract class HeldReleaseHost(DatabaseEngine engine) : QuietHoursHost(engine)
{
    public const int BatchMax = 40;

    protected override IEnumerable<KeyValuePair<string, string?>> SecureSettings() =>
        [.. base.SecureSettings(), new("Qianbao:Messaging:HeldReleaseBatchMax", BatchMax.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}

public sealed class SqliteHeldReleaseHost() : HeldReleaseHost(DatabaseEngine.Sqlite);

public sealed class PostgresHeldReleaseHost() : HeldReleaseHost(DatabaseEngine.Postgres);

/// <summary>
/// The set-based release of held messages: a few hundred service and marketing messages of four people held overnight are
/// released in bounded batches at 08:00; each gets the next inbox number of its person (no number twice, none skipped past
/// the person's last), an open stream gets every one of them after what it streamed before (more than one page of the
/// stream), a <c>Last-Event-ID</c> resume replays them in the same order, and the released marketing messages count toward
/// that day's cap. Both engines.
/// </summary>
public abstract class HeldReleaseTests<THost>(THost host) : IClassFixture<THost> where THost : HeldReleaseHost
{
    private readonly HttpClient http = host.CreateClient();

    private async Task<SecureUser> PersonAsync()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var put = await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", PreferencesDocuments.QuietNights(), pin: null);
        put.StatusCode.ShouldBe(HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        return user;
    }

    private async Task<NotifyResult> NotifyAsync(NotificationRequest request)
    {
        var db = host.Services.GetRequiredService<Db>();
        await using var connection = await db.OpenAsync();
        await using var tx = await db.BeginWriteAsync(connection, CancellationToken.None);
        var result = await host.Services.GetRequiredService<Notifier>().NotifyAsync(connection, tx, request, CancellationToken.None);
        await tx.CommitAsync();
        return result;
    }

    private static NotificationRequest Offer(Guid userId, string title) =>
        new(userId, NotificationCategory.Marketing, "offer", "offer:" + Guid.NewGuid(), Title: title, Body: "10% off");

    private void MoveTo(DateTimeOffset utc) => host.Clock.Advance(utc - host.Clock.GetUtcNow());

    private async Task<long> PendingAsync()
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM notifications WHERE release_pending = 1");
    }

    [Fact]
    public async Task Hundreds_of_held_messages_are_released_in_bounded_batches_numbered_per_person_and_streamed()
    {
        // Shanghai 23:00 (15:00 UTC) of a day ahead: inside quiet hours.
        var day = new DateTimeOffset(host.Clock.GetUtcNow().UtcDateTime.Date.AddDays(2), TimeSpan.Zero);
        MoveTo(day.AddHours(15));
        var people = new List<SecureUser>();
        for (var i = 0; i < 4; i++) people.Add(await PersonAsync());
        var shop = Guid.NewGuid();
        var expected = new Dictionary<Guid, List<string>>();
        var streamed = people[0];

        // The first person gets a transaction message now (never held), which an open stream sees first.
        await using var stream = await SseReader.OpenAsync(http, streamed.AccessToken);
        await NotifyAsync(new NotificationRequest(streamed.UserId, NotificationCategory.Transaction, "trade_paid", "trade:" + Guid.NewGuid(),
            new Dictionary<string, string> { ["amount"] = "9.90", ["merchant"] = "Corner Shop" }));
        var paid = await stream.NextAsync(TimeSpan.FromSeconds(5));

        foreach (var person in people)
        {
            var titles = expected[person.UserId] = [];
            var notes = person == streamed ? 150 : 60; // more than one page (100) of the stream for the first
            for (var n = 0; n < notes; n++)
            {
                var title = $"note {n}";
                (await NotifyAsync(new NotificationRequest(person.UserId, NotificationCategory.Service, "merchant_message", "service:" + Guid.NewGuid(),
                    SenderMerchantId: shop, Title: title, Body: "From the shop"))).Status.ShouldBe(NotificationStatus.Inbox);
                titles.Add(title);
                if (n is 10 or 20)
                {
                    (await NotifyAsync(Offer(person.UserId, $"offer {n}"))).Status.ShouldBe(NotificationStatus.Inbox);
                    titles.Add($"offer {n}");
                }
            }
            // A third offer for the same (next) day is capped already when sent: the held two count toward the day they are delivered.
            (await NotifyAsync(Offer(person.UserId, "offer over"))).Status.ShouldBe(NotificationStatus.Capped);
        }
        var total = expected.Values.Sum(t => t.Count);
        total.ShouldBe(152 + 3 * 62);
        (await PendingAsync()).ShouldBe(total);
        (await streamed.GetJsonAsync("/v1/notifications/unread-count"))["unread"]!.GetValue<long>().ShouldBe(1);

        // 08:01 Shanghai: passes of at most BatchMax release everything (the background releaser may run some of them).
        MoveTo(day.AddDays(1).AddMinutes(1));
        var releaser = host.Services.GetRequiredService<HeldNotifications>();
        for (var pass = 0; pass < 100 && await PendingAsync() > 0; pass++)
            (await releaser.ReleaseDueAsync(CancellationToken.None)).ShouldBeLessThanOrEqualTo(HeldReleaseHost.BatchMax);
        (await PendingAsync()).ShouldBe(0);

        // The open stream gets every released message of its person, numbered after what it saw, in the order they were due.
        var events = new List<SseReader.Event>();
        for (var i = 0; i < expected[streamed.UserId].Count; i++) events.Add(await stream.NextAsync(TimeSpan.FromSeconds(5)));
        events.Select(e => JsonNode.Parse(e.Data)!["title"]!.GetValue<string>()).ShouldBe(expected[streamed.UserId]);
        var ids = events.Select(e => long.Parse(e.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        ids.ShouldBeInOrder();
        ids.Distinct().Count().ShouldBe(ids.Count);
        ids[0].ShouldBeGreaterThan(long.Parse(paid.Id!, System.Globalization.CultureInfo.InvariantCulture));

        // A resume after the transaction message replays the same, in the same order.
        await using (var resumed = await SseReader.OpenAsync(http, streamed.AccessToken, paid.Id))
            for (var i = 0; i < events.Count; i++)
                (await resumed.NextAsync(TimeSpan.FromSeconds(5))).Id.ShouldBe(events[i].Id);

        // Every person: everything in the inbox, distinct numbers, the settings' last number the highest.
        await using (var connection = await host.Services.GetRequiredService<Db>().OpenAsync())
            foreach (var person in people)
            {
                var count = expected[person.UserId].Count + (person == streamed ? 1 : 0);
                (await person.GetJsonAsync("/v1/notifications/unread-count"))["unread"]!.GetValue<long>().ShouldBe(count);
                var (rows, distinct, max) = await connection.QuerySingleAsync<(long, long, long)>(
                    "SELECT COUNT(*), COUNT(DISTINCT seq), MAX(seq) FROM notifications WHERE user_id = @userId AND status = 0", new { userId = person.UserId });
                rows.ShouldBe(count);
                distinct.ShouldBe(count);
                max.ShouldBe(await connection.ExecuteScalarAsync<long>("SELECT last_seq FROM notification_settings WHERE user_id = @userId", new { userId = person.UserId }));
            }

        // The released offers count toward today's cap (2): one more today is capped.
        (await NotifyAsync(Offer(people[1].UserId, "offer today"))).Status.ShouldBe(NotificationStatus.Capped);
    }
}

public sealed class SqliteHeldReleaseTests(SqliteHeldReleaseHost host) : HeldReleaseTests<SqliteHeldReleaseHost>(host);

public sealed class PostgresHeldReleaseTests(PostgresHeldReleaseHost host) : HeldReleaseTests<PostgresHeldReleaseHost>(host);
