using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Messaging;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>The notifier and the inbox on a real database: dedupe, SMS queued with the row, quiet-hour holds and caps, the inbox API.</summary>
public abstract class NotifierTests<THost>(THost host) : IClassFixture<THost> where THost : NotificationHost
{
    private readonly HttpClient http = host.CreateClient();

    private Task<SecureUser> NewUserAsync() => SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);

    private async Task<NotifyResult> NotifyAsync(NotificationRequest request)
    {
        var db = host.Services.GetRequiredService<Db>();
        await using var connection = await db.OpenAsync();
        await using var tx = await db.BeginWriteAsync(connection, CancellationToken.None);
        var result = await host.Services.GetRequiredService<Notifier>().NotifyAsync(connection, tx, request, CancellationToken.None);
        await tx.CommitAsync();
        return result;
    }

    private async Task SetPreferencesAsync(Guid userId, NotificationPreferences preferences)
    {
        var db = host.Services.GetRequiredService<Db>();
        await using var connection = await db.OpenAsync();
        await using var tx = await db.BeginWriteAsync(connection, CancellationToken.None);
        await NotificationSettings.WriteAsync(connection, tx, userId, preferences, "en", 0, CancellationToken.None);
        await tx.CommitAsync();
    }

    private async Task<IReadOnlyList<(string Template, long DueUs)>> SmsAsync(string phone)
    {
        var index = host.Services.GetRequiredService<MessageRecipients>().Index("+86" + phone);
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        return (await connection.QueryAsync<(string, long)>(
            "SELECT template, next_attempt_at_us FROM outbound_messages WHERE recipient = @index AND template LIKE 'notification:%' ORDER BY created_at_us",
            new { index })).AsList();
    }

    private static NotificationRequest Security(Guid userId, string key) =>
        new(userId, NotificationCategory.Security, "password_changed", key);

    private static NotificationRequest Marketing(Guid userId, string key) =>
        new(userId, NotificationCategory.Marketing, "offer", key, Title: "Offer", Body: "10% off at Corner Shop",
            Action: NotificationAction.OpenUrl("https://example.com/offer"));

    [Fact]
    public async Task The_same_fact_is_notified_once_with_one_sms_however_often_it_is_asked()
    {
        var user = await NewUserAsync();
        var key = "security_event:" + Guid.NewGuid();
        var first = await NotifyAsync(Security(user.UserId, key));
        first.Created.ShouldBeTrue();
        var again = await NotifyAsync(Security(user.UserId, key));
        again.Created.ShouldBeFalse();
        again.NotificationId.ShouldBe(first.NotificationId);

        var inbox = await user.GetJsonAsync("/v1/notifications");
        inbox["items"]!.AsArray().Count(i => i!["id"]!.GetValue<Guid>() == first.NotificationId).ShouldBe(1);
        (await SmsAsync(user.Phone)).Count(s => s.Template == "notification:password_changed").ShouldBe(1);
    }

    [Fact]
    public async Task The_inbox_pages_by_cursor_filters_unread_and_its_count_follows_reads()
    {
        var user = await NewUserAsync();
        var other = await NewUserAsync();
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
            ids.Add((await NotifyAsync(new NotificationRequest(user.UserId, NotificationCategory.Transaction, "trade_paid", "trade:" + Guid.NewGuid(),
                new Dictionary<string, string> { ["amount"] = $"{i + 1}.00", ["merchant"] = "Corner Shop" }))).NotificationId);
        var baseline = (await user.GetJsonAsync("/v1/notifications/unread-count"))["unread"]!.GetValue<long>();

        var page1 = await user.GetJsonAsync("/v1/notifications?limit=3");
        var items1 = page1["items"]!.AsArray();
        items1.Count.ShouldBe(3);
        items1[0]!["id"]!.GetValue<Guid>().ShouldBe(ids[4]);
        items1[0]!["category"]!.GetValue<string>().ShouldBe("transaction");
        items1[0]!["type"]!.GetValue<string>().ShouldBe("trade_paid");
        items1[0]!["body"]!.GetValue<string>().ShouldContain("5.00");
        page1["unread_count"]!.GetValue<long>().ShouldBe(baseline);
        var page2 = await user.GetJsonAsync("/v1/notifications?limit=3&cursor=" + page1["next_cursor"]!.GetValue<string>());
        page2["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldContain(ids[1]);

        (await user.SendAsync(HttpMethod.Post, $"/v1/notifications/{ids[4]}/read", pin: null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await user.GetJsonAsync("/v1/notifications/unread-count"))["unread"]!.GetValue<long>().ShouldBe(baseline - 1);
        var unread = await user.GetJsonAsync("/v1/notifications?unread=true&limit=100");
        unread["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldNotContain(ids[4]);
        unread["items"]!.AsArray().Count.ShouldBe((int)baseline - 1);
        // Reading again is no change; someone else's notification does not exist for them.
        (await user.SendAsync(HttpMethod.Post, $"/v1/notifications/{ids[4]}/read", pin: null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await other.SendAsync(HttpMethod.Post, $"/v1/notifications/{ids[3]}/read", pin: null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await user.GetJsonAsync("/v1/notifications/unread-count"))["unread"]!.GetValue<long>().ShouldBe(baseline - 1);

        var all = await user.SendAsync(HttpMethod.Post, "/v1/notifications/read-all", pin: null);
        ((await all.Content.ReadFromJsonAsync<JsonObject>())!["unread"]!.GetValue<long>()).ShouldBe(0);
        (await user.GetJsonAsync("/v1/notifications"))["items"]!.AsArray().ShouldAllBe(i => i!["read_at"] != null);

        (await user.SendAsync(HttpMethod.Get, "/v1/notifications?unread=maybe", pin: null)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await user.SendAsync(HttpMethod.Get, "/v1/notifications?cursor=abc", pin: null)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Marketing_is_suppressed_without_consent_held_in_quiet_hours_and_capped_over_the_daily_max()
    {
        var user = await NewUserAsync();
        (await NotifyAsync(Marketing(user.UserId, "m0"))).Status.ShouldBe(NotificationStatus.Suppressed);

        // Quiet hours around the server's present moment (UTC), marketing on in the app and by SMS.
        var now = host.Clock.GetUtcNow();
        var minute = now.Hour * 60 + now.Minute;
        var quiet = new QuietHours(true, (minute + 1440 - 30) % 1440, (minute + 30) % 1440);
        await SetPreferencesAsync(user.UserId, new NotificationPreferences(1, 0b011, 1, quiet, "Etc/UTC"));
        var held = await NotifyAsync(Marketing(user.UserId, "m1"));
        held.Status.ShouldBe(NotificationStatus.Inbox);
        var inbox = await user.GetJsonAsync("/v1/notifications");
        inbox["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldNotContain(held.NotificationId);
        var sms = (await SmsAsync(user.Phone)).Single(s => s.Template == "notification:offer");
        sms.DueUs.ShouldBeGreaterThan(Qianbao.Server.Hosting.TimeProviderExtensions.ToUnixMicroseconds(now) + 25L * 60_000_000);

        // The second of the day (held to the same end) passes; the third is capped.
        (await NotifyAsync(Marketing(user.UserId, "m2"))).Status.ShouldBe(NotificationStatus.Inbox);
        (await NotifyAsync(Marketing(user.UserId, "m3"))).Status.ShouldBe(NotificationStatus.Capped);
        (await SmsAsync(user.Phone)).Count(s => s.Template == "notification:offer").ShouldBe(2);

        // When the quiet hours end the held messages are in the inbox (sign in again: the clock moved past the token).
        host.Clock.Advance(TimeSpan.FromMinutes(31));
        var (access, _) = await SecureUser.LoginAsync(http, host.OperatorKey, user.Phone, SecureUser.Password, user.DeviceId);
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/notifications");
        request.Headers.Authorization = new("Bearer", access);
        var later = (await (await http.SendAsync(request)).Content.ReadFromJsonAsync<JsonObject>())!;
        var items = later["items"]!.AsArray();
        items.Select(i => i!["id"]!.GetValue<Guid>()).ShouldContain(held.NotificationId);
        items.Single(i => i!["id"]!.GetValue<Guid>() == held.NotificationId)!["action"]!["url"]!.GetValue<string>().ShouldBe("https://example.com/offer");
        items.Count(i => i!["type"]!.GetValue<string>() == "offer").ShouldBe(2);
    }

    private Task<HttpResponseMessage> OperatorAsync(HttpMethod method, string path, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new("Bearer", host.OperatorKey);
        if (body is not null) request.Content = JsonContent.Create(body);
        return http.SendAsync(request);
    }

    [Fact]
    public async Task An_operator_edits_a_template_validated_on_save_and_the_next_notification_uses_it()
    {
        const string path = "/admin/v1/messaging/templates/complaint_resolved/en";
        var builtIn = (await (await OperatorAsync(HttpMethod.Get, path)).Content.ReadFromJsonAsync<JsonObject>())!;
        builtIn["customized"]!.GetValue<bool>().ShouldBeFalse();
        builtIn["variables"]!.AsArray().Select(v => v!.GetValue<string>()).ShouldBe(["decision"]);

        var unknown = await OperatorAsync(HttpMethod.Put, path, new { title = "Resolved", body = "{{ decision }} for {{ user.phone }}" });
        unknown.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await unknown.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>().ShouldBe("unknown_template_variable");
        var broken = await OperatorAsync(HttpMethod.Put, path, new { title = "Resolved", body = "{{ decision " });
        (await broken.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>().ShouldBe("invalid_template");
        (await OperatorAsync(HttpMethod.Put, "/admin/v1/messaging/templates/no_such_type/en", new { title = "x", body = "y" })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await OperatorAsync(HttpMethod.Get, path)).Content.ReadFromJsonAsync<JsonObject>())!["customized"]!.GetValue<bool>().ShouldBeFalse();

        var saved = await OperatorAsync(HttpMethod.Put, path, new { title = "Complaint closed", body = "Decision: {{ decision | upcase }}{% if decision == 'refund' %}, money on its way{% endif %}" });
        saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());

        var user = await NewUserAsync();
        await SetPreferencesAsync(user.UserId, NotificationPreferences.Default); // locale en
        await NotifyAsync(new NotificationRequest(user.UserId, NotificationCategory.Transaction, "complaint_resolved", "complaint:" + Guid.NewGuid(),
            new Dictionary<string, string> { ["decision"] = "refund" }));
        var item = (await user.GetJsonAsync("/v1/notifications"))["items"]!.AsArray().Single(i => i!["type"]!.GetValue<string>() == "complaint_resolved")!;
        item["title"]!.GetValue<string>().ShouldBe("Complaint closed");
        item["body"]!.GetValue<string>().ShouldBe("Decision: REFUND, money on its way");
    }
}

public sealed class SqliteNotifierTests(SqliteNotificationHost host) : NotifierTests<SqliteNotificationHost>(host);

public sealed class PostgresNotifierTests(PostgresNotificationHost host) : NotifierTests<PostgresNotificationHost>(host);
