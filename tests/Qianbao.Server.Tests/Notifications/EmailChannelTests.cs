using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Messaging;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>
/// The notifier's e-mail channel against a real SMTP server started by the test (MIME parsed): multipart text and HTML in
/// the person's locale, only to a verified address (else recorded unavailable), RFC 8058 one-click unsubscribe on marketing
/// mail whose POST (no login) withdraws the e-mail consent idempotently, after which no marketing mail follows; the
/// marketing SMS's opt-out link does the same for SMS. Both engines.
/// </summary>
public abstract class EmailChannelTests(DatabaseEngine engine)
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);
    private const string BaseUrl = "https://wallet.example.com";

    private static (string, string)[] Smtp(int port) => TestSmtpServer.Settings(port, BaseUrl);

    private static async Task<NotifyResult> NotifyAsync(WebApplicationFactory<Program> host, NotificationRequest request)
    {
        var db = host.Services.GetRequiredService<Db>();
        await using var connection = await db.OpenAsync();
        await using var tx = await db.BeginWriteAsync(connection, CancellationToken.None);
        var result = await host.Services.GetRequiredService<Notifier>().NotifyAsync(connection, tx, request, CancellationToken.None);
        await tx.CommitAsync();
        return result;
    }

    private static async Task<List<(short Channel, short Decision)>> DeliveriesAsync(WebApplicationFactory<Program> host, Guid notificationId)
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        return (await connection.QueryAsync<(short, short)>("SELECT channel, decision FROM notification_deliveries WHERE notification_id = @notificationId ORDER BY channel",
            new { notificationId })).AsList();
    }

    private static async Task<long> CountAsync(WebApplicationFactory<Program> host, string sql, object? args = null)
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        return await connection.ExecuteScalarAsync<long>(sql, args);
    }

    private static object Preferences(bool marketingEmail, bool marketingSms) => new
    {
        categories = new Dictionary<string, object>
        {
            ["security"] = new { in_app = true, sms = true, email = true },
            ["transaction"] = new { in_app = true, sms = false, email = true },
            ["marketing"] = new { in_app = true, sms = marketingSms, email = marketingEmail },
            ["service"] = new { in_app = true, sms = false, email = false },
        },
        quiet_hours = new { enabled = false, start = "22:00", end = "08:00" },
        time_zone = "Asia/Shanghai",
        locale = "en",
    };

    private static NotificationRequest Offer(Guid userId) =>
        new(userId, NotificationCategory.Marketing, "offer", "offer:" + Guid.NewGuid(), Title: "Coffee week", Body: "10% off at Corner Shop <today>",
            Action: NotificationAction.OpenUrl("https://shop.example.com/coffee"));

    private static async Task VerifyEmailAsync(SecureUser user, TestSmtpServer smtp, string address)
    {
        var before = smtp.Received.Count;
        (await user.SendAsync(HttpMethod.Put, "/v1/me/email", new { email = address }, pin: null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await SmsBed.EventuallyAsync(() => smtp.Received.Count > before, Within, () => "no code mailed");
        var mail = smtp.Received.Last(m => m.To.Mailboxes.Single().Address == address);
        var code = System.Text.RegularExpressions.Regex.Match(mail.TextBody ?? "", @"\b(\d{6})\b").Groups[1].Value;
        var ok = await user.SendAsync(HttpMethod.Post, "/v1/me/email/verify", new { code }, pin: null);
        ok.StatusCode.ShouldBe(HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Marketing_mail_is_multipart_with_one_click_unsubscribe_whose_post_withdraws_consent_once_and_stops_marketing_mail()
    {
        await using var smtp = await TestSmtpServer.StartAsync();
        await using var bed = await SmsBed.CreateAsync(engine);
        var host = bed.Start(Smtp(smtp.Port));
        var http = host.CreateClient();
        var user = await SecureUser.CreateAsync(http, SmsBed.OperatorKey, setPin: false, verifyIdentity: false);
        await VerifyEmailAsync(user, smtp, "li.lei@example.com");
        (await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Preferences(true, true), pin: null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var offer = await NotifyAsync(host, Offer(user.UserId));
        offer.Status.ShouldBe(NotificationStatus.Inbox);
        (await DeliveriesAsync(host, offer.NotificationId)).ShouldBe([(0, 0), (1, 0), (2, 0)]);
        await SmsBed.EventuallyAsync(() => smtp.Received.Any(m => m.Subject == "[Qianbao] Coffee week"), Within, () => $"no offer mail; {bed.Logs.Recent()}");
        var mail = smtp.Received.Single(m => m.Subject == "[Qianbao] Coffee week");
        mail.To.Mailboxes.Single().Address.ShouldBe("li.lei@example.com");
        mail.Body!.Headers["Content-Language"].ShouldBe("en");
        var alternative = mail.Body.ShouldBeOfType<MultipartAlternative>();
        alternative.Select(p => p.ContentType.MimeType).ShouldBe(["text/plain", "text/html"]);
        mail.TextBody!.ShouldContain("10% off at Corner Shop <today>");
        mail.TextBody!.ShouldContain("https://shop.example.com/coffee");
        mail.HtmlBody!.ShouldContain("10% off at Corner Shop &lt;today&gt;"); // the body is text, encoded into the HTML part
        var listUnsubscribe = mail.Headers["List-Unsubscribe"];
        listUnsubscribe.ShouldStartWith($"<{BaseUrl}/u/");
        listUnsubscribe.ShouldEndWith(">");
        mail.Headers["List-Unsubscribe-Post"].ShouldBe("List-Unsubscribe=One-Click");
        var unsubscribeUrl = listUnsubscribe[1..^1];
        mail.HtmlBody!.ShouldContain(unsubscribeUrl);
        mail.TextBody!.ShouldContain(unsubscribeUrl);

        // The marketing SMS ends with its own opt-out link (a different token: the SMS channel).
        var sms = await CountAsync(host, "SELECT COUNT(*) FROM outbound_messages WHERE channel = 1 AND template = 'notification:offer'");
        sms.ShouldBe(1);
        string smsText;
        await using (var connection = await host.Services.GetRequiredService<Db>().OpenAsync())
            smsText = await connection.ExecuteScalarAsync<string>("SELECT text FROM outbound_messages WHERE channel = 1 AND template = 'notification:offer'") ?? "";
        var smsLink = System.Text.RegularExpressions.Regex.Match(smsText, @"(https://\S+)$").Groups[1].Value;
        smsLink.ShouldStartWith($"{BaseUrl}/u/");
        smsLink.ShouldNotBe(unsubscribeUrl);

        // A transaction mail carries no unsubscribe header.
        await NotifyAsync(host, new NotificationRequest(user.UserId, NotificationCategory.Transaction, "trade_paid", "trade:" + Guid.NewGuid(),
            new Dictionary<string, string> { ["amount"] = "23.50", ["merchant"] = "Corner Shop" }));
        await SmsBed.EventuallyAsync(() => smtp.Received.Any(m => m.Subject == "[Qianbao] Payment made"), Within, () => "no payment mail");
        var paid = smtp.Received.Single(m => m.Subject == "[Qianbao] Payment made");
        paid.TextBody!.ShouldContain("You paid ¥23.50 at Corner Shop");
        paid.Headers.Contains("List-Unsubscribe").ShouldBeFalse();
        paid.HtmlBody!.ShouldContain($"{BaseUrl}/notifications/");

        // A link scanner's GET only shows the page; nothing is withdrawn.
        var anonymous = host.CreateClient();
        var page = await anonymous.GetAsync(unsubscribeUrl);
        page.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await page.Content.ReadAsStringAsync()).ShouldContain("method=\"post\"");
        (await user.GetJsonAsync("/v1/me/consents"))["items"]!.AsArray().ShouldAllBe(c => c!["source"]!.GetValue<string>() == "preferences");

        // RFC 8058: the client POSTs List-Unsubscribe=One-Click without any login. Twice: the second changes nothing.
        for (var i = 0; i < 2; i++)
        {
            var post = await anonymous.PostAsync(unsubscribeUrl, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]));
            post.StatusCode.ShouldBe(HttpStatusCode.OK, await post.Content.ReadAsStringAsync());
            (await post.Content.ReadFromJsonAsync<JsonObject>())!["changed"]!.GetValue<bool>().ShouldBe(i == 0);
        }
        var consents = (await user.GetJsonAsync("/v1/me/consents"))["items"]!.AsArray();
        var withdrawn = consents.Where(c => c!["source"]!.GetValue<string>() == "unsubscribe").ToList();
        withdrawn.Count.ShouldBe(1);
        withdrawn[0]!["channel"]!.GetValue<string>().ShouldBe("email");
        withdrawn[0]!["status"]!.GetValue<string>().ShouldBe("withdrawn");
        var preferences = await user.GetJsonAsync("/v1/me/notification-preferences");
        preferences["categories"]!["marketing"]!["email"]!.GetValue<bool>().ShouldBeFalse();
        preferences["categories"]!["marketing"]!["sms"]!.GetValue<bool>().ShouldBeTrue();

        // No more marketing mail: the next offer goes in the app and by SMS, and nothing is queued for e-mail.
        var emailsBefore = await CountAsync(host, "SELECT COUNT(*) FROM outbound_messages WHERE channel = 2");
        var next = await NotifyAsync(host, Offer(user.UserId));
        (await DeliveriesAsync(host, next.NotificationId)).ShouldBe([(0, 0), (1, 0)]);
        (await CountAsync(host, "SELECT COUNT(*) FROM outbound_messages WHERE channel = 2")).ShouldBe(emailsBefore);

        // The SMS link withdraws the SMS consent the same way.
        (await anonymous.PostAsync(smsLink, null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await user.GetJsonAsync("/v1/me/notification-preferences"))["categories"]!["marketing"]!["sms"]!.GetValue<bool>().ShouldBeFalse();
        // (The third offer today is over the daily cap of 2, so only the in-app part is recorded, capped; SMS is not asked at all.)
        var last = await NotifyAsync(host, Offer(user.UserId));
        (await DeliveriesAsync(host, last.NotificationId)).ShouldBe([(0, (short)DeliveryDecision.Capped)]);

        // A forged or altered token is 404 and changes nothing.
        var token = unsubscribeUrl[(unsubscribeUrl.LastIndexOf('/') + 1)..];
        var altered = (token[0] == 'A' ? "B" : "A") + token[1..];
        (await anonymous.PostAsync($"/u/{altered}", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await anonymous.PostAsync("/u/not-a-token", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await anonymous.GetAsync("/u/not-a-token")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Campaign_mail_has_the_variants_subject_an_open_pixel_and_a_tracked_link_that_redirects_only_to_the_variants_url()
    {
        await using var smtp = await TestSmtpServer.StartAsync();
        await using var bed = await SmsBed.CreateAsync(engine);
        var host = bed.Start(Smtp(smtp.Port));
        var http = host.CreateClient();
        var user = await SecureUser.CreateAsync(http, SmsBed.OperatorKey, setPin: false, verifyIdentity: false);
        await VerifyEmailAsync(user, smtp, "wang.fang@example.com");
        (await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Preferences(true, false), pin: null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // As the campaign send asks: the campaign, its variant, and the variant's email_subject.
        var campaignId = Guid.NewGuid();
        var sent = await NotifyAsync(host, new NotificationRequest(user.UserId, NotificationCategory.Marketing, "campaign",
            Qianbao.Server.Modules.Notifications.Campaigns.CampaignSender.DedupeKey(campaignId), Action: NotificationAction.OpenUrl("https://shop.example.com/spring"),
            CampaignId: campaignId, Variant: "a", Title: "Half price", Body: "Half price at Corner Shop", EmailSubject: "Spring: half price this week"));
        sent.Status.ShouldBe(NotificationStatus.Inbox);
        await SmsBed.EventuallyAsync(() => smtp.Received.Any(m => m.Subject == "[Qianbao] Spring: half price this week"), Within,
            () => $"no campaign mail; {bed.Logs.Recent()}");
        var mail = smtp.Received.Single(m => m.Subject == "[Qianbao] Spring: half price this week");
        var pixel = System.Text.RegularExpressions.Regex.Match(mail.HtmlBody!, "<img src=\"" + BaseUrl + "(/t/o/[^\"]+)\"").Groups[1].Value;
        pixel.ShouldNotBeEmpty();
        var click = System.Text.RegularExpressions.Regex.Match(mail.TextBody!, BaseUrl + @"(/t/c/\S+)").Groups[1].Value;
        click.ShouldNotBeEmpty();
        mail.HtmlBody!.ShouldContain(click);
        mail.TextBody!.ShouldNotContain("https://shop.example.com/spring"); // only through the tracked link

        var anonymous = host.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var opened = await anonymous.GetAsync(pixel);
        opened.StatusCode.ShouldBe(HttpStatusCode.OK);
        opened.Content.Headers.ContentType!.MediaType.ShouldBe("image/gif");
        var clicked = await anonymous.GetAsync(click);
        clicked.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        clicked.Headers.Location!.AbsoluteUri.ShouldBe("https://shop.example.com/spring");
        (await CountAsync(host, "SELECT COUNT(*) FROM notifications WHERE read_at_us IS NOT NULL AND clicked_at_us IS NOT NULL AND campaign_id = @c",
            new { c = engine == DatabaseEngine.Postgres ? (object)campaignId : campaignId.ToString() })).ShouldBe(1);
    }

    [Fact]
    public async Task Without_a_verified_address_the_email_channel_is_recorded_unavailable_and_nothing_is_mailed()
    {
        await using var smtp = await TestSmtpServer.StartAsync();
        await using var bed = await SmsBed.CreateAsync(engine);
        var host = bed.Start(Smtp(smtp.Port));
        var http = host.CreateClient();
        var user = await SecureUser.CreateAsync(http, SmsBed.OperatorKey, setPin: false, verifyIdentity: false);
        (await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Preferences(true, false), pin: null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        // An address given but not proven is not verified.
        (await user.SendAsync(HttpMethod.Put, "/v1/me/email", new { email = "han.meimei@example.com" }, pin: null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        var offer = await NotifyAsync(host, Offer(user.UserId));
        (await DeliveriesAsync(host, offer.NotificationId)).ShouldBe([(0, 0), (2, (short)DeliveryDecision.Unavailable)]);
        (await CountAsync(host, "SELECT COUNT(*) FROM outbound_messages WHERE channel = 2 AND template LIKE 'notification%'")).ShouldBe(0);
    }
}

public sealed class SqliteEmailChannelTests() : EmailChannelTests(DatabaseEngine.Sqlite);

public sealed class PostgresEmailChannelTests() : EmailChannelTests(DatabaseEngine.Postgres);
