using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Dapper;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>Notifications from what happens: transaction events (a durable subscriber) and security alerts (in the security event's transaction).</summary>
public abstract class EventNotificationTests<THost>(THost host) : IClassFixture<THost> where THost : NotificationHost
{
    private readonly HttpClient http = host.CreateClient();

    private static async Task<JsonArray> InboxAsync(SecureUser user) => (await user.GetJsonAsync("/v1/notifications?limit=100"))["items"]!.AsArray();

    private static Task<JsonNode?> EventuallyAsync(SecureUser user, string type)
    {
        JsonNode? found = null;
        return Poll.UntilAsync(async () => (found = (await InboxAsync(user)).FirstOrDefault(i => i!["type"]!.GetValue<string>() == type)) is not null,
            $"a {type} notification").ContinueWith(t => { t.GetAwaiter().GetResult(); return found; });
    }

    [Fact]
    public async Task A_transfer_notifies_sender_and_recipient_once_and_a_top_up_its_owner()
    {
        var sender = await SecureUser.CreateAsync(http, host.OperatorKey);
        var recipient = await SecureUser.CreateAsync(http, host.OperatorKey, name: "王芳");
        await sender.TopUpAsync(10_000);
        var topUp = await EventuallyAsync(sender, "top_up_succeeded");
        topUp!["category"]!.GetValue<string>().ShouldBe("transaction");
        topUp["body"]!.GetValue<string>().ShouldContain("100.00");

        var sent = await sender.PostAsync("/v1/transfers", new { to_user_id = recipient.UserId, amount = 2350, currency = "CNY" });
        sent.StatusCode.ShouldBe(HttpStatusCode.Created, await sent.Content.ReadAsStringAsync());
        var out1 = await EventuallyAsync(sender, "transfer_sent");
        out1!["body"]!.GetValue<string>().ShouldContain("23.50");
        var in1 = await EventuallyAsync(recipient, "transfer_received");
        in1!["body"]!.GetValue<string>().ShouldContain("23.50");
        in1["body"]!.GetValue<string>().ShouldContain("*"); // the sender's name, masked
        (await InboxAsync(sender)).Count(i => i!["type"]!.GetValue<string>() == "transfer_sent").ShouldBe(1);
        (await InboxAsync(recipient)).Count(i => i!["type"]!.GetValue<string>() == "transfer_received").ShouldBe(1);
    }

    [Fact]
    public async Task An_event_delivered_again_after_a_crash_notifies_nobody_twice()
    {
        var sender = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var recipient = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var transfer = new Qianbao.Server.Money.Events.TransferCompleted(Guid.NewGuid(), sender.UserId, recipient.UserId, 4200, "CNY");
        var stored = new Qianbao.Server.Money.Events.StoredEvent(new(0, 1), Guid.NewGuid(), "transfer.completed", "test",
            Qianbao.Server.Money.Events.EventTypes.Serialize(transfer), Qianbao.Server.Hosting.TimeProviderExtensions.GetUnixMicroseconds(TimeProvider.System));
        var subscriber = host.Services.GetServices<Qianbao.Server.Money.Events.IEventSubscriber>()
            .Single(s => s.Name == Qianbao.Server.Modules.Notifications.TransactionNotificationSubscriber.SubscriberName);
        // The first delivery committed; the checkpoint did not (a crash in between): the batch comes again, and again.
        await subscriber.HandleAsync([stored], CancellationToken.None);
        await subscriber.HandleAsync([stored], CancellationToken.None);
        await subscriber.HandleAsync([stored], CancellationToken.None);
        (await InboxAsync(sender)).Count(i => i!["type"]!.GetValue<string>() == "transfer_sent").ShouldBe(1);
        (await InboxAsync(recipient)).Count(i => i!["type"]!.GetValue<string>() == "transfer_received").ShouldBe(1);
        (await InboxAsync(recipient)).Single(i => i!["type"]!.GetValue<string>() == "transfer_received")!["body"]!.GetValue<string>().ShouldContain("42.00");
    }

    [Fact]
    public async Task A_batch_numbers_each_persons_notifications_in_event_order_and_a_redelivered_overlap_adds_only_the_new()
    {
        var sender = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var recipient = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var subscriber = host.Services.GetServices<Qianbao.Server.Money.Events.IEventSubscriber>()
            .Single(s => s.Name == Qianbao.Server.Modules.Notifications.TransactionNotificationSubscriber.SubscriberName);
        var seq = 0L;
        Qianbao.Server.Money.Events.StoredEvent Transfer(long amountMinor) => new(new(0, ++seq), Guid.NewGuid(), "transfer.completed", "test",
            Qianbao.Server.Money.Events.EventTypes.Serialize(new Qianbao.Server.Money.Events.TransferCompleted(Guid.NewGuid(), sender.UserId, recipient.UserId,
                amountMinor, "CNY")),
            Qianbao.Server.Hosting.TimeProviderExtensions.GetUnixMicroseconds(TimeProvider.System));
        var (first, large, last) = (Transfer(2_350), Transfer(5_000_000), Transfer(100));
        await subscriber.HandleAsync([first], CancellationToken.None);
        // Delivered again together with two new ones (a crash before the checkpoint moved): the first is not notified twice,
        // the sender's three new notifications (two sent, one security alert) are numbered in the events' order.
        await subscriber.HandleAsync([first, large, last], CancellationToken.None);

        string Body(JsonNode? i) => i!["body"]!.GetValue<string>();
        var mine = (await InboxAsync(sender)).Where(i => i!["type"]!.GetValue<string>() is "transfer_sent" or "large_transfer").ToList();
        mine.Select(i => (i!["type"]!.GetValue<string>(), Body(i).Contains("1.00", StringComparison.Ordinal) && !Body(i).Contains("50000.00", StringComparison.Ordinal),
                Body(i).Contains("50000.00", StringComparison.Ordinal), Body(i).Contains("23.50", StringComparison.Ordinal)))
            .ShouldBe([("transfer_sent", true, false, false), ("large_transfer", false, true, false), ("transfer_sent", false, true, false),
                ("transfer_sent", false, false, true)]); // newest first
        (await InboxAsync(recipient)).Count(i => i!["type"]!.GetValue<string>() == "transfer_received").ShouldBe(3);
        (await SandboxSms.TextsAsync(http, host.OperatorKey, sender.Phone)).Count(t => t.Contains("50000.00", StringComparison.Ordinal)).ShouldBe(1);
    }

    [Fact]
    public async Task A_large_transfer_is_also_a_security_alert_with_an_sms_to_the_sender()
    {
        var sender = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var recipient = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var subscriber = host.Services.GetServices<Qianbao.Server.Money.Events.IEventSubscriber>()
            .Single(s => s.Name == Qianbao.Server.Modules.Notifications.TransactionNotificationSubscriber.SubscriberName);
        foreach (var amountMinor in new[] { 4_999_999L, 5_000_000L })
        {
            var transfer = new Qianbao.Server.Money.Events.TransferCompleted(Guid.NewGuid(), sender.UserId, recipient.UserId, amountMinor, "CNY");
            await subscriber.HandleAsync([new Qianbao.Server.Money.Events.StoredEvent(new(0, 1), Guid.NewGuid(), "transfer.completed", "test",
                Qianbao.Server.Money.Events.EventTypes.Serialize(transfer), Qianbao.Server.Hosting.TimeProviderExtensions.GetUnixMicroseconds(TimeProvider.System))],
                CancellationToken.None);
        }
        var alerts = (await InboxAsync(sender)).Where(i => i!["type"]!.GetValue<string>() == "large_transfer").ToList();
        alerts.Count.ShouldBe(1);
        alerts[0]!["category"]!.GetValue<string>().ShouldBe("security");
        alerts[0]!["body"]!.GetValue<string>().ShouldContain("50000.00");
        (await SandboxSms.TextsAsync(http, host.OperatorKey, sender.Phone)).Count(t => t.Contains("50000.00", StringComparison.Ordinal)).ShouldBe(1);
        (await InboxAsync(recipient)).ShouldNotContain(i => i!["type"]!.GetValue<string>() == "large_transfer");
    }

    private IEventSubscriber TransactionSubscriber() => host.Services.GetServices<IEventSubscriber>()
        .Single(s => s.Name == Qianbao.Server.Modules.Notifications.TransactionNotificationSubscriber.SubscriberName);

    private static StoredEvent Stored(DomainEvent e, long seq) => new(new(0, seq), Guid.NewGuid(), EventTypes.NameOf(e.GetType()), "test", EventTypes.Serialize(e),
        Qianbao.Server.Hosting.TimeProviderExtensions.GetUnixMicroseconds(TimeProvider.System));

    /// <summary>A person's transaction notifications and their deliveries as stored, without what differs between runs (ids, times, the event ids).</summary>
    private async Task<List<string>> StoredRowsAsync(Guid userId)
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        var rows = await connection.QueryAsync<(Guid Id, long Seq, short Category, string Type, string DedupeKey, short Status, string Title, string Body, string? Action,
            Guid? CampaignId, string? Variant, Guid? Sender, long VisibleAtUs, long CreatedAtUs, short ReleasePending)>(new CommandDefinition("""
            SELECT id, seq, category, type, dedupe_key, status, title, body, action, campaign_id, variant, sender_merchant_id, visible_at_us, created_at_us,
                   release_pending
            FROM notifications WHERE user_id = @userId AND dedupe_key LIKE 'event:%' ORDER BY seq
            """, new { userId }));
        var texts = new List<string>();
        foreach (var r in rows)
        {
            var deliveries = await connection.QueryAsync<(short Channel, short Decision, long DueAtUs)>(new CommandDefinition(
                "SELECT channel, decision, due_at_us FROM notification_deliveries WHERE notification_id = @Id ORDER BY channel", new { r.Id }));
            texts.Add($"{r.Seq} {r.Category} {r.Type} {r.DedupeKey[r.DedupeKey.LastIndexOf(':')..]} {r.Status} {r.Title} | {r.Body} | {r.Action ?? "-"} "
                      + $"{r.CampaignId?.ToString() ?? "-"} {r.Variant ?? "-"} {r.Sender?.ToString() ?? "-"} {r.VisibleAtUs == r.CreatedAtUs} {r.ReleasePending} "
                      + string.Join(",", deliveries.Select(d => $"{d.Channel}:{d.Decision}:{d.DueAtUs == r.VisibleAtUs}")));
        }
        return texts;
    }

    [Fact]
    public async Task A_batch_that_cannot_repeat_stores_the_same_notifications_and_deliveries_as_one_that_may()
    {
        // The same events for two pairs of people: one batch as the runner hands a first attempt (on PostgreSQL written by
        // COPY), the other as a batch that may repeat (probed, INSERT ... ON CONFLICT); every stored field must agree.
        var pairs = new List<(SecureUser Sender, SecureUser Recipient)>();
        for (var i = 0; i < 2; i++)
            pairs.Add((await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false),
                await SecureUser.CreateAsync(http, host.OperatorKey, name: "王芳", setPin: false, verifyIdentity: false)));
        var subscriber = TransactionSubscriber();
        var seq = 0L;
        List<StoredEvent> Events(SecureUser sender, SecureUser recipient) =>
        [
            Stored(new TransferCompleted(Guid.NewGuid(), sender.UserId, recipient.UserId, 2_350, "CNY"), ++seq),
            Stored(new TransferCompleted(Guid.NewGuid(), sender.UserId, recipient.UserId, 5_000_000, "CNY"), ++seq),
            Stored(new TopUpSucceeded(Guid.NewGuid(), sender.UserId, 10_000, "CNY", "bank"), ++seq),
            Stored(new RedPacketClaimed(Guid.NewGuid(), sender.UserId, recipient.UserId, 1, 88, "CNY"), ++seq),
            Stored(new ComplaintResolved(Guid.NewGuid(), recipient.UserId, "refund <all> & \"more\"", 100, "CNY"), ++seq),
        ];
        await subscriber.HandleAsync(new EventBatch(Events(pairs[0].Sender, pairs[0].Recipient), mayRepeat: false, write: null), CancellationToken.None);
        await subscriber.HandleAsync(new EventBatch(Events(pairs[1].Sender, pairs[1].Recipient), mayRepeat: true, write: null), CancellationToken.None);

        var firstSender = await StoredRowsAsync(pairs[0].Sender.UserId);
        firstSender.Count.ShouldBe(4); // two sent, the large transfer's alert, the top-up
        firstSender.ShouldBe(await StoredRowsAsync(pairs[1].Sender.UserId));
        var firstRecipient = await StoredRowsAsync(pairs[0].Recipient.UserId);
        firstRecipient.Count.ShouldBe(4); // two received, the red packet, the complaint
        firstRecipient.ShouldBe(await StoredRowsAsync(pairs[1].Recipient.UserId));
        foreach (var (sender, _) in pairs)
            (await SandboxSms.TextsAsync(http, host.OperatorKey, sender.Phone)).Count(t => t.Contains("50000.00", StringComparison.Ordinal)).ShouldBe(1);
    }

    [Fact]
    public async Task A_fact_stored_before_a_batch_that_cannot_repeat_is_never_notified_twice()
    {
        // Cannot happen through the runner (a batch that cannot repeat has no stored effects), but if it did: on PostgreSQL
        // the COPY fails on the unique key with the whole batch, and the retry (which may repeat) adds only the new facts;
        // on SQLite the insert skips the stored one.
        var sender = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var recipient = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var subscriber = TransactionSubscriber();
        var (first, second) = (Stored(new TransferCompleted(Guid.NewGuid(), sender.UserId, recipient.UserId, 100, "CNY"), 1),
            Stored(new TransferCompleted(Guid.NewGuid(), sender.UserId, recipient.UserId, 200, "CNY"), 2));
        await subscriber.HandleAsync([first], CancellationToken.None);
        var attempt = subscriber.HandleAsync(new EventBatch([first, second], mayRepeat: false, write: null), CancellationToken.None);
        if (host.Engine == DatabaseEngine.Postgres)
        {
            (await Should.ThrowAsync<Npgsql.PostgresException>(attempt)).SqlState.ShouldBe(Npgsql.PostgresErrorCodes.UniqueViolation);
            (await StoredRowsAsync(sender.UserId)).Count.ShouldBe(1);
            await subscriber.HandleAsync(new EventBatch([first, second], mayRepeat: true, write: null), CancellationToken.None);
        }
        else await attempt;
        var sent = await StoredRowsAsync(sender.UserId);
        sent.Count.ShouldBe(2);
        sent[0].ShouldContain("1.00");
        sent[1].ShouldContain("2.00");
        (await StoredRowsAsync(recipient.UserId)).Count.ShouldBe(2);
    }

    [Fact]
    public async Task A_password_change_is_one_security_notification_and_one_sms_not_two()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var changed = await user.PostAsync("/v1/me/password", new { current_password = SecureUser.Password, new_password = "battery staple" }, pin: null);
        changed.StatusCode.ShouldBe(HttpStatusCode.NoContent, await changed.Content.ReadAsStringAsync());
        var item = (await InboxAsync(user)).Single(i => i!["type"]!.GetValue<string>() == "password_changed");
        item!["category"]!.GetValue<string>().ShouldBe("security");
        item["body"]!.GetValue<string>().ShouldContain("登录密码已修改");
        (await SandboxSms.TextsAsync(http, host.OperatorKey, user.Phone)).Count(t => t.Contains("登录密码已修改", StringComparison.Ordinal)).ShouldBe(1);
    }

    [Fact]
    public async Task Setting_the_pin_alerts_in_the_app_and_by_one_sms()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, verifyIdentity: false);
        (await InboxAsync(user)).Count(i => i!["type"]!.GetValue<string>() == "pin_changed").ShouldBe(1);
        (await SandboxSms.TextsAsync(http, host.OperatorKey, user.Phone)).Count(t => t.Contains("支付密码已设置", StringComparison.Ordinal)).ShouldBe(1);
    }
}

public sealed class SqliteEventNotificationTests(SqliteNotificationHost host) : EventNotificationTests<SqliteNotificationHost>(host);

public sealed class PostgresEventNotificationTests(PostgresNotificationHost host) : EventNotificationTests<PostgresNotificationHost>(host);
