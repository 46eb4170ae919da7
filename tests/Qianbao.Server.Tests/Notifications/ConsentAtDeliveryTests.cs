using System.Globalization;
using System.Net;
using Dapper;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Messaging;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>
/// Marketing consent is checked when a message leaves, not only when it was queued: an e-mail and an SMS held by quiet hours
/// (queued before) are not sent after a one-click unsubscribe or a preferences change withdrew the consent; they are
/// recorded <c>withdrawn</c> (the sandbox SMS keeps nothing of them), while a transaction mail still goes. Real SMTP server.
/// Both engines.
/// </summary>
public abstract class ConsentAtDeliveryTests(DatabaseEngine engine)
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);
    private const string BaseUrl = "https://wallet.example.com";

    /// <summary>Quiet hours around the present in China time, so what is queued now is held for an hour.</summary>
    private static object Preferences(bool marketing)
    {
        var china = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8));
        return new
        {
            categories = new Dictionary<string, object>
            {
                ["security"] = new { in_app = true, sms = true, email = true },
                ["transaction"] = new { in_app = true, sms = false, email = true },
                ["marketing"] = new { in_app = true, sms = marketing, email = marketing },
                ["service"] = new { in_app = true, sms = false, email = false },
            },
            quiet_hours = new
            {
                enabled = true, start = china.AddMinutes(-30).ToString("HH:mm", CultureInfo.InvariantCulture),
                end = china.AddMinutes(60).ToString("HH:mm", CultureInfo.InvariantCulture),
            },
            time_zone = "Asia/Shanghai",
            locale = "en",
        };
    }

    private static async Task<NotifyResult> NotifyAsync(WebApplicationFactory<Program> host, NotificationRequest request)
    {
        var db = host.Services.GetRequiredService<Db>();
        await using var connection = await db.OpenAsync();
        await using var tx = await db.BeginWriteAsync(connection, CancellationToken.None);
        var result = await host.Services.GetRequiredService<Notifier>().NotifyAsync(connection, tx, request, CancellationToken.None);
        await tx.CommitAsync();
        return result;
    }

    private static NotificationRequest Offer(Guid userId, string title) =>
        new(userId, NotificationCategory.Marketing, "offer", "offer:" + Guid.NewGuid(), Title: title, Body: "10% off at Corner Shop");

    /// <summary>The person's queued messages (status by channel) made due now, as the end of quiet hours would.</summary>
    private static async Task<int> MakeDueAsync(WebApplicationFactory<Program> host)
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        return await connection.ExecuteAsync("UPDATE outbound_messages SET next_attempt_at_us = 0 WHERE status = 0 AND template LIKE 'notification%'");
    }

    private static async Task<List<(short Channel, short Status, short Marketing)>> RowsAsync(WebApplicationFactory<Program> host)
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        return (await connection.QueryAsync<(short, short, short)>(
            "SELECT channel, status, marketing FROM outbound_messages WHERE template LIKE 'notification%' ORDER BY channel, marketing")).AsList();
    }

    [Fact]
    public async Task Marketing_queued_before_an_unsubscribe_or_a_withdrawal_is_not_sent_afterwards()
    {
        await using var smtp = await TestSmtpServer.StartAsync();
        await using var bed = await SmsBed.CreateAsync(engine);
        var host = bed.Start(TestSmtpServer.Settings(smtp.Port, BaseUrl));
        var http = host.CreateClient();
        var user = await SecureUser.CreateAsync(http, SmsBed.OperatorKey, setPin: false, verifyIdentity: false);
        var put = await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Preferences(marketing: true), pin: null);
        put.StatusCode.ShouldBe(HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        var before = smtp.Received.Count;
        (await user.SendAsync(HttpMethod.Put, "/v1/me/email", new { email = "zhao.lei@example.com" }, pin: null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await SmsBed.EventuallyAsync(() => smtp.Received.Count > before, Within, () => "no code mailed");
        var code = System.Text.RegularExpressions.Regex.Match(smtp.Received.Last().TextBody ?? "", @"\b(\d{6})\b").Groups[1].Value;
        (await user.SendAsync(HttpMethod.Post, "/v1/me/email/verify", new { code }, pin: null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // Queued inside quiet hours: held (e-mail and SMS), and a transaction mail (never held) for contrast later.
        (await NotifyAsync(host, Offer(user.UserId, "Held offer"))).Status.ShouldBe(NotificationStatus.Inbox);
        (await RowsAsync(host)).ShouldBe([(1, 0, 1), (2, 0, 1)]);

        // One-click unsubscribe of e-mail (RFC 8058 POST), then the SMS consent withdrawn in the preferences.
        var token = host.Services.GetRequiredService<UnsubscribeLinks>().Token(user.UserId, NotificationChannel.Email);
        (await http.PostAsync($"/u/{token}", new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await user.SendAsync(HttpMethod.Put, "/v1/me/notification-preferences", Preferences(marketing: false), pin: null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // Quiet hours end: both messages are due; the senders record them withdrawn and send nothing.
        var mailsBefore = smtp.Received.Count;
        (await MakeDueAsync(host)).ShouldBe(2);
        await Poll.UntilAsync(async () => (await RowsAsync(host)).All(r => r.Status == 4), "the held marketing messages to be withdrawn");

        // A transaction mail queued and due now still goes (only marketing is stopped), and nothing of the offer went.
        await NotifyAsync(host, new NotificationRequest(user.UserId, NotificationCategory.Transaction, "trade_paid", "trade:" + Guid.NewGuid(),
            new Dictionary<string, string> { ["amount"] = "9.90", ["merchant"] = "Corner Shop" }));
        await SmsBed.EventuallyAsync(() => smtp.Received.Any(m => m.Subject == "[Qianbao] Payment made"), Within, () => "no payment mail");
        smtp.Received.Skip(mailsBefore).ShouldNotContain(m => m.Subject!.Contains("Held offer"));
    }
}

public sealed class SqliteConsentAtDeliveryTests() : ConsentAtDeliveryTests(DatabaseEngine.Sqlite);

public sealed class PostgresConsentAtDeliveryTests() : ConsentAtDeliveryTests(DatabaseEngine.Postgres);
