using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>Preferences and consent: the whole document, locked security, marketing off until granted, each change a consent record.</summary>
public abstract class PreferencesTests<THost>(THost host) : IClassFixture<THost> where THost : NotificationHost
{
    private readonly HttpClient http = host.CreateClient();

    private static object Document(bool marketingInApp, bool marketingSms = false, bool securitySms = true, string timeZone = "Asia/Shanghai",
        bool quiet = false, string start = "22:00") => new
    {
        categories = new
        {
            security = new { in_app = true, sms = securitySms, email = true, locked = true },
            transaction = new { in_app = true, sms = false, email = false },
            marketing = new { in_app = marketingInApp, sms = marketingSms, email = false },
            service = new { in_app = true, sms = false, email = false },
        },
        quiet_hours = new { enabled = quiet, start, end = "08:00" },
        time_zone = timeZone,
        locale = "en",
    };

    private async Task<NotifyResult> NotifyFromAsync(Guid userId, Guid merchantId)
    {
        var db = host.Services.GetRequiredService<Db>();
        await using var connection = await db.OpenAsync();
        await using var tx = await db.BeginWriteAsync(connection, CancellationToken.None);
        var result = await host.Services.GetRequiredService<Notifier>().NotifyAsync(connection, tx,
            new NotificationRequest(userId, NotificationCategory.Service, "merchant_message", "msg:" + Guid.NewGuid(), Title: "Corner Shop", Body: "New menu",
                SenderMerchantId: merchantId), CancellationToken.None);
        await tx.CommitAsync();
        return result;
    }

    [Fact]
    public async Task Clicks_and_feedback_are_recorded_once_and_spam_stops_that_sender()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var other = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        (await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Document(marketingInApp: false), pin: null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var merchant = Guid.NewGuid();
        var first = await NotifyFromAsync(user.UserId, merchant);
        first.Status.ShouldBe(NotificationStatus.Inbox);

        var click = await user.SendAsync(HttpMethod.Post, $"/v1/notifications/{first.NotificationId}/click", pin: null);
        click.StatusCode.ShouldBe(HttpStatusCode.OK);
        var clickedAt = (await click.Content.ReadFromJsonAsync<JsonObject>())!["clicked_at"]!.GetValue<DateTimeOffset>();
        var again = await user.SendAsync(HttpMethod.Post, $"/v1/notifications/{first.NotificationId}/click", pin: null);
        (await again.Content.ReadFromJsonAsync<JsonObject>())!["clicked_at"]!.GetValue<DateTimeOffset>().ShouldBe(clickedAt);
        (await user.GetJsonAsync("/v1/notifications"))["items"]!.AsArray().Single(i => i!["id"]!.GetValue<Guid>() == first.NotificationId)!["read_at"].ShouldNotBeNull();
        (await other.SendAsync(HttpMethod.Post, $"/v1/notifications/{first.NotificationId}/click", pin: null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        var bad = await user.SendAsync(HttpMethod.Post, $"/v1/notifications/{first.NotificationId}/feedback", new { reason = "boring" }, pin: null);
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await CodeAsync(bad)).ShouldBe("invalid_feedback_reason");
        (await NotifyFromAsync(user.UserId, merchant)).Status.ShouldBe(NotificationStatus.Inbox); // not blocked yet

        var spam = await user.SendAsync(HttpMethod.Post, $"/v1/notifications/{first.NotificationId}/feedback", new { reason = "spam" }, pin: null);
        spam.StatusCode.ShouldBe(HttpStatusCode.OK);
        var later = await user.SendAsync(HttpMethod.Post, $"/v1/notifications/{first.NotificationId}/feedback", new { reason = "not_relevant" }, pin: null);
        (await later.Content.ReadFromJsonAsync<JsonObject>())!["feedback"]!.GetValue<string>().ShouldBe("spam");
        (await NotifyFromAsync(user.UserId, merchant)).Status.ShouldBe(NotificationStatus.Suppressed);
        (await NotifyFromAsync(user.UserId, Guid.NewGuid())).Status.ShouldBe(NotificationStatus.Inbox); // another sender still reaches them
    }

    private async Task<NotificationStatus> NotifyMarketingAsync(Guid userId)
    {
        var db = host.Services.GetRequiredService<Db>();
        await using var connection = await db.OpenAsync();
        await using var tx = await db.BeginWriteAsync(connection, CancellationToken.None);
        var result = await host.Services.GetRequiredService<Notifier>().NotifyAsync(connection, tx,
            new NotificationRequest(userId, NotificationCategory.Marketing, "offer", "offer:" + Guid.NewGuid(), Title: "Offer", Body: "Half price"), CancellationToken.None);
        await tx.CommitAsync();
        return result.Status;
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonObject>())?["code"]?.GetValue<string>();

    [Fact]
    public async Task Defaults_have_marketing_off_and_security_locked()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var prefs = await user.GetJsonAsync("/v1/me/notification-preferences");
        prefs["categories"]!["security"]!["locked"]!.GetValue<bool>().ShouldBeTrue();
        prefs["categories"]!["security"]!["sms"]!.GetValue<bool>().ShouldBeTrue();
        foreach (var channel in new[] { "in_app", "sms", "email" }) prefs["categories"]!["marketing"]![channel]!.GetValue<bool>().ShouldBeFalse();
        prefs["quiet_hours"]!["start"]!.GetValue<string>().ShouldBe("22:00");
        prefs["time_zone"]!.GetValue<string>().ShouldBe("Asia/Shanghai");
        (await user.GetJsonAsync("/v1/me/consents"))["items"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task Turning_security_off_is_refused_and_changes_nothing()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var refused = await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Document(marketingInApp: true, securitySms: false), pin: null);
        refused.StatusCode.ShouldBe(HttpStatusCode.UnprocessableEntity);
        (await CodeAsync(refused)).ShouldBe("category_locked");
        (await user.GetJsonAsync("/v1/me/notification-preferences"))["categories"]!["marketing"]!["in_app"]!.GetValue<bool>().ShouldBeFalse();
        (await user.GetJsonAsync("/v1/me/consents"))["items"]!.AsArray().ShouldBeEmpty();

        var badZone = await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Document(true, timeZone: "Mars/Olympus"), pin: null);
        badZone.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await CodeAsync(badZone)).ShouldBe("invalid_preferences");
        var badTime = await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Document(true, start: "25:00"), pin: null);
        (await CodeAsync(badTime)).ShouldBe("invalid_preferences");
    }

    [Fact]
    public async Task Marketing_consent_granted_then_withdrawn_is_recorded_and_decides_delivery()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        (await NotifyMarketingAsync(user.UserId)).ShouldBe(NotificationStatus.Suppressed);

        var on = await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Document(marketingInApp: true, marketingSms: true, timeZone: "America/New_York"), pin: null);
        on.StatusCode.ShouldBe(HttpStatusCode.OK, await on.Content.ReadAsStringAsync());
        var stored = await user.GetJsonAsync("/v1/me/notification-preferences");
        stored["categories"]!["marketing"]!["sms"]!.GetValue<bool>().ShouldBeTrue();
        stored["time_zone"]!.GetValue<string>().ShouldBe("America/New_York");
        stored["locale"]!.GetValue<string>().ShouldBe("en");
        (await NotifyMarketingAsync(user.UserId)).ShouldBe(NotificationStatus.Inbox);

        var off = await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Document(marketingInApp: false), pin: null);
        off.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await NotifyMarketingAsync(user.UserId)).ShouldBe(NotificationStatus.Suppressed);

        var consents = (await user.GetJsonAsync("/v1/me/consents"))["items"]!.AsArray();
        consents.Count.ShouldBe(4);
        consents.Count(c => c!["status"]!.GetValue<string>() == "granted").ShouldBe(2);
        consents.Count(c => c!["status"]!.GetValue<string>() == "withdrawn").ShouldBe(2);
        consents.Select(c => c!["channel"]!.GetValue<string>()).Distinct().Order().ShouldBe(["in_app", "sms"]);
        consents.ShouldAllBe(c => c!["source"]!.GetValue<string>() == "preferences" && c["text_version"]!.GetValue<string>().Length > 0);
    }
}

public sealed class SqlitePreferencesTests(SqliteNotificationHost host) : PreferencesTests<SqliteNotificationHost>(host);

public sealed class PostgresPreferencesTests(PostgresNotificationHost host) : PreferencesTests<PostgresNotificationHost>(host);
