using System.Diagnostics;
using Dapper;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Modules.Notifications.Campaigns;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>The notification host with access tokens that outlive the days these tests move the clock through.</summary>
public abstract class QuietHoursHost(DatabaseEngine engine) : NotificationHost(engine)
{
    protected override IEnumerable<KeyValuePair<string, string?>> SecureSettings() =>
        [.. base.SecureSettings(), new("Qianbao:Auth:TokenLifetimeMinutes", "43200")];
}

public sealed class SqliteQuietHoursHost() : QuietHoursHost(DatabaseEngine.Sqlite);

public sealed class PostgresQuietHoursHost() : QuietHoursHost(DatabaseEngine.Postgres);

/// <summary>
/// Quiet hours and the daily marketing cap end to end through HTTP, with the server's clock moved: two people with
/// marketing consent, one in Asia/Shanghai and one in America/New_York (quiet 22:00–08:00 for both), receive a series of
/// campaigns sent before, inside and after their quiet hours and across midnight in each zone. A held message is delivered
/// when quiet hours end and counts toward the day it is delivered on; over the cap a message is `capped` in the results.
/// Held messages, when released, reach an open SSE stream (also after a later message was streamed) and a resume.
/// </summary>
public abstract class QuietHoursAcrossZonesTests<THost>(THost host) : IClassFixture<THost> where THost : QuietHoursHost
{
    private readonly HttpClient http = host.CreateClient();
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    private static object Preferences(string zone) => PreferencesDocuments.QuietNights(zone);

    private async Task<HttpResponseMessage> OperatorAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.OperatorKey);
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        if (body is not null) request.Content = JsonContent.Create(body);
        return await http.SendAsync(request);
    }

    private async Task<SecureUser> PersonAsync(string zone)
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var put = await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Preferences(zone), pin: null);
        put.StatusCode.ShouldBe(HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        return user;
    }

    /// <summary>Moves the server's clock forward to <paramref name="utc"/>.</summary>
    private void MoveTo(DateTimeOffset utc)
    {
        var by = utc - host.Clock.GetUtcNow();
        by.ShouldBeGreaterThan(TimeSpan.Zero);
        host.Clock.Advance(by);
    }

    /// <summary>Creates, starts and sends (a scheduler pass) a one-variant campaign titled <paramref name="title"/> to the registration range; returns its id.</summary>
    private async Task<Guid> SendAsync(string title, DateTimeOffset from, DateTimeOffset to)
    {
        var created = await OperatorAsync(HttpMethod.Post, "/admin/v1/messaging/campaigns", new
        {
            name = title,
            segment = new { registered_from = from, registered_to = to },
            channels = new[] { "in_app" },
            variants = new object[] { new { key = "a", weight = 1, title, body = "Offer " + title } },
            holdout_bps = 0,
            conversion = new { @event = "payment", window_hours = 72 },
        });
        var text = await created.Content.ReadAsStringAsync();
        created.StatusCode.ShouldBe(HttpStatusCode.Created, text);
        var id = JsonNode.Parse(text)!["id"]!.GetValue<Guid>();
        (await OperatorAsync(HttpMethod.Post, $"/admin/v1/messaging/campaigns/{id}/start")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await host.Services.GetRequiredService<CampaignSender>().SendDueAsync(CancellationToken.None);
        return id;
    }

    private async Task<(int Delivered, int Held, int Capped)> ResultsAsync(Guid id)
    {
        var response = await OperatorAsync(HttpMethod.Get, $"/admin/v1/messaging/campaigns/{id}/results");
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["variants"]![0]!;
        return (json["delivered"]!.GetValue<int>(), json["held"]!.GetValue<int>(), json["capped"]!.GetValue<int>());
    }

    private static async Task<List<string>> InboxAsync(SecureUser user) =>
        (await user.GetJsonAsync("/v1/notifications?limit=100"))["items"]!.AsArray().Select(i => i!["title"]!.GetValue<string>()).ToList();

    private Task<int> ReleaseAsync() => host.Services.GetRequiredService<HeldNotifications>().ReleaseDueAsync(CancellationToken.None);

    /// <summary>The next UTC midnight (at least a day ahead) from which New York keeps standard time (UTC−5) for three days.</summary>
    private DateTimeOffset NextStandardTimeDay()
    {
        var day = new DateTimeOffset(host.Clock.GetUtcNow().UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        while (NewYork.GetUtcOffset(day) != TimeSpan.FromHours(-5) || NewYork.GetUtcOffset(day.AddDays(3)) != TimeSpan.FromHours(-5)) day = day.AddDays(1);
        return day;
    }

    [Fact]
    public async Task Held_messages_are_delivered_when_quiet_hours_end_and_count_toward_that_days_cap_in_each_zone()
    {
        // Shanghai is UTC+8 (quiet 14:00–24:00 UTC), New York UTC−5 (quiet 03:00–13:00 UTC). The cap is 2 a local day.
        var d = NextStandardTimeDay();
        MoveTo(d.AddHours(11));
        var from = host.Clock.GetUtcNow().AddSeconds(-1);
        var shanghai = await PersonAsync("Asia/Shanghai");
        var newYork = await PersonAsync("America/New_York");
        var to = host.Clock.GetUtcNow().AddSeconds(1);

        // #1 at 12:00 UTC: Shanghai 20:00 (delivered, day S1: 1); New York 07:00, inside quiet hours: held until 08:00 (N1).
        MoveTo(d.AddHours(12));
        var c1 = await SendAsync("#1", from, to);
        (await InboxAsync(shanghai)).ShouldBe(["#1"]);
        (await InboxAsync(newYork)).ShouldBeEmpty();
        (await ResultsAsync(c1)).ShouldBe((1, 1, 0));

        // 13:30 UTC: New York's quiet hours ended at 13:00 UTC; the held #1 is released and delivered (N1: 1).
        MoveTo(d.AddHours(13.5));
        await ReleaseAsync(); // (the background pass may have been first)
        (await InboxAsync(newYork)).ShouldBe(["#1"]);
        (await ResultsAsync(c1)).ShouldBe((2, 1, 0));

        // #2 at 13:30 UTC: Shanghai 21:30, New York 08:30: both delivered (S1: 2, N1: 2).
        var c2 = await SendAsync("#2", from, to);
        (await InboxAsync(shanghai)).ShouldBe(["#2", "#1"]);
        (await InboxAsync(newYork)).ShouldBe(["#2", "#1"]);

        // #3 at 14:30 UTC: Shanghai 22:30, quiet: held until 08:00 of the next Shanghai day (S2: 1, not capped);
        // New York 09:30: its day has 2 already: capped.
        MoveTo(d.AddHours(14.5));
        var c3 = await SendAsync("#3", from, to);
        (await ResultsAsync(c3)).ShouldBe((0, 1, 1));
        (await InboxAsync(shanghai)).ShouldBe(["#2", "#1"]);

        // Across Shanghai's midnight: at 00:30 UTC (Shanghai 08:30 of S2) #3 is delivered.
        MoveTo(d.AddDays(1).AddHours(0.5));
        await ReleaseAsync(); // (the background pass may have been first)
        (await InboxAsync(shanghai)).ShouldBe(["#3", "#2", "#1"]);
        (await ResultsAsync(c3)).ShouldBe((1, 1, 1));

        // #4 at 00:30 UTC: Shanghai S2 has #3: delivered (S2: 2); New York 19:30, still N1 (2): capped.
        var c4 = await SendAsync("#4", from, to);
        (await ResultsAsync(c4)).ShouldBe((1, 0, 1));

        // #5 at 03:30 UTC: Shanghai 11:30 (S2 full): capped; New York 22:30, quiet: held to 08:00 of N2 (N2: 1).
        MoveTo(d.AddDays(1).AddHours(3.5));
        var c5 = await SendAsync("#5", from, to);
        (await ResultsAsync(c5)).ShouldBe((0, 1, 1));
        // #6 at 05:30 UTC: New York 00:30, after its midnight, still quiet: held to 08:00 of N2 (N2: 2); Shanghai capped.
        MoveTo(d.AddDays(1).AddHours(5.5));
        var c6 = await SendAsync("#6", from, to);
        (await ResultsAsync(c6)).ShouldBe((0, 1, 1));
        // #7 at 06:00 UTC: New York 01:00 would be held to N2, which two held messages fill already: capped; Shanghai capped.
        MoveTo(d.AddDays(1).AddHours(6));
        var c7 = await SendAsync("#7", from, to);
        (await ResultsAsync(c7)).ShouldBe((0, 0, 2));
        (await InboxAsync(newYork)).ShouldBe(["#2", "#1"]);

        // 13:30 UTC: New York 08:30 of N2: #5 and #6 are delivered; nothing else changed.
        MoveTo(d.AddDays(1).AddHours(13.5));
        await ReleaseAsync();
        (await InboxAsync(newYork)).ShouldBe(["#6", "#5", "#2", "#1"], ignoreOrder: true);
        (await InboxAsync(newYork)).Skip(2).ShouldBe(["#2", "#1"]);
        (await InboxAsync(shanghai)).ShouldBe(["#4", "#3", "#2", "#1"]);
        (await newYork.GetJsonAsync("/v1/notifications/unread-count"))["unread"]!.GetValue<long>().ShouldBe(4);
        (await ResultsAsync(c5)).ShouldBe((1, 1, 1));
        (await ResultsAsync(c6)).ShouldBe((1, 1, 1));
        (await ResultsAsync(c2)).ShouldBe((2, 0, 0));
    }

    [Fact]
    public async Task A_held_message_reaches_an_open_stream_when_released_also_after_a_later_message_was_streamed()
    {
        // Shanghai 23:00 (15:00 UTC): inside quiet hours.
        var d = NextStandardTimeDay();
        MoveTo(d.AddHours(15));
        var from = host.Clock.GetUtcNow().AddSeconds(-1);
        var person = await PersonAsync("Asia/Shanghai");
        var to = host.Clock.GetUtcNow().AddSeconds(1);

        await using var stream = await SseReader.OpenAsync(http, person.AccessToken);
        var held = await SendAsync("Held offer", from, to);
        (await ResultsAsync(held)).ShouldBe((0, 1, 0));

        // A transaction message is never held: streamed now, with a number after the held one's.
        var db = host.Services.GetRequiredService<Db>();
        await using (var connection = await db.OpenAsync())
        await using (var tx = await db.BeginWriteAsync(connection, CancellationToken.None))
        {
            await host.Services.GetRequiredService<Notifier>().NotifyAsync(connection, tx, new NotificationRequest(person.UserId, NotificationCategory.Transaction,
                "trade_paid", "trade:" + Guid.NewGuid(), new Dictionary<string, string> { ["amount"] = "9.90", ["merchant"] = "Corner Shop" }), CancellationToken.None);
            await tx.CommitAsync();
        }
        var paid = await stream.NextAsync(TimeSpan.FromSeconds(5));
        JsonNode.Parse(paid.Data)!["category"]!.GetValue<string>().ShouldBe("transaction");

        // 08:01 Shanghai: the release gives the held message the next number and wakes the stream.
        MoveTo(d.AddDays(1).AddMinutes(1));
        await ReleaseAsync();
        var clock = Stopwatch.StartNew();
        var released = await stream.NextAsync(TimeSpan.FromSeconds(5));
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2));
        JsonNode.Parse(released.Data)!["title"]!.GetValue<string>().ShouldBe("Held offer");
        long.Parse(released.Id!).ShouldBeGreaterThan(long.Parse(paid.Id!));

        // A stream resuming after the transaction message replays the released one.
        await using var resumed = await SseReader.OpenAsync(http, person.AccessToken, paid.Id);
        JsonNode.Parse((await resumed.NextAsync(TimeSpan.FromSeconds(5))).Data)!["title"]!.GetValue<string>().ShouldBe("Held offer");
    }

    private async Task<Guid> NotifyAsync(NotificationRequest request)
    {
        var db = host.Services.GetRequiredService<Db>();
        await using var connection = await db.OpenAsync();
        await using var tx = await db.BeginWriteAsync(connection, CancellationToken.None);
        var result = await host.Services.GetRequiredService<Notifier>().NotifyAsync(connection, tx, request, CancellationToken.None);
        await tx.CommitAsync();
        return result.NotificationId;
    }

    private static NotificationRequest ServiceNote(Guid userId, Guid merchantId, string title) =>
        new(userId, NotificationCategory.Service, "merchant_message", "service:" + Guid.NewGuid(), SenderMerchantId: merchantId, Title: title, Body: "From the shop");

    private async Task<(short Status, short InApp)> StoredAsync(Guid notificationId)
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        return await connection.QuerySingleAsync<(short, short)>(
            "SELECT n.status, d.decision FROM notifications n JOIN notification_deliveries d ON d.notification_id = n.id AND d.channel = 0 WHERE n.id = @notificationId",
            new { notificationId });
    }

    [Fact]
    public async Task A_held_message_is_withdrawn_at_release_when_consent_was_withdrawn_or_its_sender_blocked_meanwhile()
    {
        // Shanghai 20:00 (12:00 UTC): a merchant's service message reaches the second person at once.
        var d = NextStandardTimeDay();
        MoveTo(d.AddHours(12));
        var from = host.Clock.GetUtcNow().AddSeconds(-1);
        var withdraws = await PersonAsync("Asia/Shanghai");
        var blocks = await PersonAsync("Asia/Shanghai");
        var keeps = await PersonAsync("Asia/Shanghai");
        var to = host.Clock.GetUtcNow().AddSeconds(1);
        var shop = Guid.NewGuid();
        var earlier = await NotifyAsync(ServiceNote(blocks.UserId, shop, "Earlier note"));
        (await InboxAsync(blocks)).ShouldBe(["Earlier note"]);

        // Shanghai 23:00: inside quiet hours, a campaign and the shop's service messages are held.
        MoveTo(d.AddHours(15));
        var campaign = await SendAsync("Held offer", from, to);
        (await ResultsAsync(campaign)).ShouldBe((0, 3, 0));
        var blockedNote = await NotifyAsync(ServiceNote(blocks.UserId, shop, "Held note"));
        var withdrawnNote = await NotifyAsync(ServiceNote(withdraws.UserId, shop, "Held note"));
        await NotifyAsync(ServiceNote(keeps.UserId, shop, "Held note"));

        // While held: one person turns marketing and service off in the app, another marks the shop's earlier message as spam.
        var off = await withdraws.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences",
            PreferencesDocuments.QuietNights(marketingAndServiceInApp: false), pin: null);
        off.StatusCode.ShouldBe(HttpStatusCode.OK, await off.Content.ReadAsStringAsync());
        var spam = await blocks.SendAsync(HttpMethod.Post, $"/v1/notifications/{earlier}/feedback", new { reason = "spam" }, pin: null);
        spam.StatusCode.ShouldBe(HttpStatusCode.OK, await spam.Content.ReadAsStringAsync());

        // 08:01 Shanghai: the released messages reach only those who still want them.
        await using var stream = await SseReader.OpenAsync(http, blocks.AccessToken);
        MoveTo(d.AddDays(1).AddMinutes(1));
        await ReleaseAsync();
        (await InboxAsync(withdraws)).ShouldBeEmpty();
        (await withdraws.GetJsonAsync("/v1/notifications/unread-count"))["unread"]!.GetValue<long>().ShouldBe(0);
        (await InboxAsync(blocks)).ShouldBe(["Held offer", "Earlier note"]);
        (await InboxAsync(keeps)).ShouldBe(["Held note", "Held offer"], ignoreOrder: true);
        JsonNode.Parse((await stream.NextAsync(TimeSpan.FromSeconds(5))).Data)!["title"]!.GetValue<string>().ShouldBe("Held offer");

        // Recorded withdrawn (the notification and its in-app delivery), and the campaign counts the withdrawal as an opt-out.
        (await StoredAsync(withdrawnNote)).ShouldBe(((short)NotificationStatus.Withdrawn, (short)DeliveryDecision.Withdrawn));
        (await StoredAsync(blockedNote)).ShouldBe(((short)NotificationStatus.Withdrawn, (short)DeliveryDecision.Withdrawn));
        (await ResultsAsync(campaign)).ShouldBe((2, 3, 0));
        var variant = JsonNode.Parse(await (await OperatorAsync(HttpMethod.Get, $"/admin/v1/messaging/campaigns/{campaign}/results")).Content.ReadAsStringAsync())!["variants"]![0]!;
        variant["opted_out"]!.GetValue<int>().ShouldBe(1);
        variant["withdrawn"]!.GetValue<int>().ShouldBe(1); // of the opted out, the one withdrawn while held
        variant["recipients"]!.GetValue<int>().ShouldBe(3);
    }
}

public sealed class SqliteQuietHoursAcrossZonesTests(SqliteQuietHoursHost host) : QuietHoursAcrossZonesTests<SqliteQuietHoursHost>(host);

public sealed class PostgresQuietHoursAcrossZonesTests(PostgresQuietHoursHost host) : QuietHoursAcrossZonesTests<PostgresQuietHoursHost>(host);
