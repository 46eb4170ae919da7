using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Qianbao.Server.Modules.Messaging;
using Qianbao.Server.Modules.Messaging.Email;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Messaging;

/// <summary>
/// E-mail, the real part: a real SMTP server started by the test receives multipart mail (parsed with MimeKit) in the
/// person's locale with the caller's headers; an address is proven by its mailed code; an SMTP outage delays mail and
/// recovery delivers each message once; due times hold messages; SMS is paced to its per-second cap. Both engines.
/// </summary>
public abstract class EmailDeliveryTests(DatabaseEngine engine)
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);

    private static (string, string)[] Smtp(int port) => TestSmtpServer.Settings(port);

    private static EmailMessage Message(string to, string subject = "Hello", string locale = "en", IReadOnlyDictionary<string, string>? headers = null) =>
        new(to, subject, $"Plain part of {subject}", $"<p>HTML part of <b>{subject}</b></p>", locale, "test_mail", null, headers);

    private static async Task<bool> QueueAsync(WebApplicationFactory<Program> host, EmailMessage message, DateTimeOffset? dueAt = null, string? dedupeKey = null)
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        var queued = await host.Services.GetRequiredService<EmailOutbox>().QueueAsync(connection, tx, message, CancellationToken.None, dueAt, dedupeKey);
        await tx.CommitAsync();
        return queued;
    }

    private sealed record Row
    {
        public Guid id { get; init; }
        public short status { get; init; }
        public int attempts { get; init; }
        public string? last_error { get; init; }
    }

    private static async Task<List<Row>> EmailRowsAsync(WebApplicationFactory<Program> host)
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        return (await connection.QueryAsync<Row>("SELECT id, status, attempts, last_error FROM outbound_messages WHERE channel = 2 ORDER BY id")).AsList();
    }

    [Fact]
    public async Task Mail_is_multipart_text_and_html_in_the_locale_with_the_callers_unsubscribe_headers()
    {
        await using var smtp = await TestSmtpServer.StartAsync();
        await using var bed = await SmsBed.CreateAsync(engine);
        var host = bed.Start(Smtp(smtp.Port));

        var headers = new Dictionary<string, string>
        {
            ["List-Unsubscribe"] = "<https://wallet.example.com/u/abc>",
            ["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click",
        };
        (await QueueAsync(host, Message("Someone@Example.COM", "优惠 Offer", "zh-CN", headers), dedupeKey: "campaign-1:user-1")).ShouldBeTrue();
        // The same cause again: the queue takes it once.
        (await QueueAsync(host, Message("Someone@Example.COM", "优惠 Offer", "zh-CN", headers), dedupeKey: "campaign-1:user-1")).ShouldBeFalse();

        await SmsBed.EventuallyAsync(() => smtp.Received.Count == 1, Within, () => $"not delivered; server: {bed.Logs.Recent()}");
        var mail = smtp.Received.Single();
        mail.To.Mailboxes.Single().Address.ShouldBe("Someone@example.com");
        mail.From.Mailboxes.Single().Address.ShouldBe("no-reply@qianbao.test");
        mail.Subject.ShouldBe("优惠 Offer");
        mail.Body!.Headers["Content-Language"].ShouldBe("zh-CN");
        mail.Headers["List-Unsubscribe"].ShouldBe("<https://wallet.example.com/u/abc>");
        mail.Headers["List-Unsubscribe-Post"].ShouldBe("List-Unsubscribe=One-Click");
        var alternative = mail.Body.ShouldBeOfType<MultipartAlternative>();
        alternative.Count.ShouldBe(2);
        mail.TextBody.ShouldNotBeNull().ShouldContain("Plain part of 优惠 Offer");
        mail.HtmlBody.ShouldNotBeNull().ShouldContain("<b>优惠 Offer</b>");
        var rows = await EmailRowsAsync(host);
        rows.Count.ShouldBe(1);
        mail.MessageId.ShouldBe($"{rows[0].id:N}@qianbao.test");
        await SmsBed.EventuallyAsync(() => EmailRowsAsync(host).Result.Single().status == (short)MessageStatus.Delivered, Within, () => "row not delivered");
        smtp.Received.Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_caller_cannot_set_the_messages_own_headers_or_break_a_header_line()
    {
        await using var bed = await SmsBed.CreateAsync(engine);
        var host = bed.Start();
        await Should.ThrowAsync<ArgumentException>(() => QueueAsync(host, Message("a@example.com", headers: new Dictionary<string, string> { ["Bcc"] = "x@example.com" })));
        await Should.ThrowAsync<ArgumentException>(() => QueueAsync(host, Message("a@example.com", headers: new Dictionary<string, string> { ["X-Tag"] = "a\r\nBcc: x@example.com" })));
        await Should.ThrowAsync<ArgumentException>(() => QueueAsync(host, Message("a@example.com", subject: "two\nlines")));
        (await EmailRowsAsync(host)).ShouldBeEmpty();
    }

    [Fact]
    public async Task An_address_is_proven_by_the_mailed_code_and_only_then_is_the_verified_address()
    {
        await using var smtp = await TestSmtpServer.StartAsync();
        await using var bed = await SmsBed.CreateAsync(engine);
        var host = bed.Start(Smtp(smtp.Port));
        var http = host.CreateClient();
        var user = await SecureUser.CreateAsync(http, SmsBed.OperatorKey, setPin: false, verifyIdentity: false);
        var addresses = host.Services.GetRequiredService<EmailAddresses>();

        await (await user.SendAsync(HttpMethod.Put, "/v1/me/email", new { email = "not an address" }, pin: null)).ShouldBeProblemAsync(400, "invalid_email");
        var put = await user.SendAsync(HttpMethod.Put, "/v1/me/email", new { email = "li.lei@example.com" }, pin: null);
        put.StatusCode.ShouldBe(HttpStatusCode.Accepted, await put.Content.ReadAsStringAsync());
        (await put.Content.ReadFromJsonAsync<JsonObject>())!["email"]!.GetValue<string>().ShouldBe("l***@example.com");

        await SmsBed.EventuallyAsync(() => smtp.Received.Count == 1, Within, () => $"no code mailed; server: {bed.Logs.Recent()}");
        var mail = smtp.Received.Single();
        mail.To.Mailboxes.Single().Address.ShouldBe("li.lei@example.com");
        mail.Body!.Headers["Content-Language"].ShouldBe("zh-CN"); // the account's locale
        mail.Subject.ShouldNotBeNull().ShouldContain("邮箱验证码");
        mail.HtmlBody.ShouldNotBeNull().ShouldContain("https://wallet.example.com/"); // links use Qianbao:PublicBaseUrl
        var code = System.Text.RegularExpressions.Regex.Match(mail.TextBody ?? "", @"\b(\d{6})\b").Groups[1].Value;
        code.Length.ShouldBe(6);

        (await addresses.VerifiedAsync(user.UserId, CancellationToken.None)).ShouldBeNull("not proven yet: no mail may go there");
        var wrong = code == "000000" ? "111111" : "000000";
        await (await user.SendAsync(HttpMethod.Post, "/v1/me/email/verify", new { code = wrong }, pin: null)).ShouldBeProblemAsync(422, "invalid_verification_code");
        var pending = await (await user.SendAsync(HttpMethod.Get, "/v1/me/email", pin: null)).Content.ReadFromJsonAsync<JsonObject>();
        pending!["email"].ShouldBeNull();
        pending["pending"]!.GetValue<string>().ShouldBe("l***@example.com");

        var ok = await user.SendAsync(HttpMethod.Post, "/v1/me/email/verify", new { code }, pin: null);
        ok.StatusCode.ShouldBe(HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
        (await addresses.VerifiedAsync(user.UserId, CancellationToken.None))!.Value.Address.ShouldBe("li.lei@example.com");
        // Accepted once.
        await (await user.SendAsync(HttpMethod.Post, "/v1/me/email/verify", new { code }, pin: null)).ShouldBeProblemAsync(422, "invalid_verification_code");

        // Sealed at rest: neither the address nor its domain is in the table.
        await using (var connection = await host.Services.GetRequiredService<Db>().OpenAsync())
        {
            var stored = await connection.QuerySingleAsync<(string Email, string EmailEnc)>(
                "SELECT email, email_enc FROM user_emails WHERE user_id = @id", new { id = user.UserId });
            (stored.Email + stored.EmailEnc).ShouldNotContain("example.com");
            (await connection.QuerySingleAsync<string>("SELECT recipient FROM outbound_messages WHERE channel = 2")).ShouldNotContain("example.com");
        }

        // In the export; erased with the account.
        var export = await (await user.SendAsync(HttpMethod.Get, "/v1/me/export", pin: null)).Content.ReadFromJsonAsync<JsonObject>();
        export!["email"]!["address"]!.GetValue<string>().ShouldBe("li.lei@example.com");
        export["messages"]!.AsArray().Select(m => m!["template"]!.GetValue<string>()).ShouldContain("email_verification_code");
        await host.Services.GetRequiredService<Qianbao.Server.Modules.Identity.DataRights.PersonalDataExport>()
            .EraseAsync(new Qianbao.Server.Modules.Identity.DataRights.DataSubject(user.UserId, "+86" + user.Phone), CancellationToken.None);
        (await addresses.VerifiedAsync(user.UserId, CancellationToken.None)).ShouldBeNull();
        (await EmailRowsAsync(host)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Without_smtp_in_sandbox_mode_mail_is_kept_for_the_operator()
    {
        await using var bed = await SmsBed.CreateAsync(engine);
        var host = bed.Start();
        (await QueueAsync(host, Message("kept@example.com", "Kept"))).ShouldBeTrue();
        await SmsBed.EventuallyAsync(() => EmailRowsAsync(host).Result.Single().status == (short)MessageStatus.Delivered, Within, () => "not kept");
        var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/sandbox/messages?to=kept@example.com");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", SmsBed.OperatorKey);
        var response = await host.CreateClient().SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var item = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Single()!;
        item["channel"]!.GetValue<string>().ShouldBe("email");
        item["subject"]!.GetValue<string>().ShouldBe("Kept");
        item["text"]!.GetValue<string>().ShouldBe("Plain part of Kept");
    }

    [Fact]
    public async Task An_smtp_outage_delays_mail_and_recovery_delivers_every_message_exactly_once()
    {
        var port = TestSmtpServer.FreePort();
        await using var bed = await SmsBed.CreateAsync(engine);
        var host = bed.Start(Smtp(port)); // nothing listens there yet: the SMTP server is down
        for (var i = 0; i < 5; i++) (await QueueAsync(host, Message($"p{i}@example.com", $"Message {i}"))).ShouldBeTrue();

        // Every message fails at least twice while the server is down, and stays queued.
        await SmsBed.EventuallyAsync(() => EmailRowsAsync(host).Result.All(r => r.attempts >= 2), Within, () => $"not retried; server: {bed.Logs.Recent()}");
        var down = await EmailRowsAsync(host);
        down.ShouldAllBe(r => r.status != (short)MessageStatus.Delivered && r.status != (short)MessageStatus.Failed && r.last_error != null);

        await using var smtp = await TestSmtpServer.StartAsync(port);
        await SmsBed.EventuallyAsync(() => EmailRowsAsync(host).Result.All(r => r.status == (short)MessageStatus.Delivered), Within,
            () => $"not all delivered after recovery; server: {bed.Logs.Recent()}");
        // Nothing more is due: an explicit pass claims nothing, and each message arrived once.
        (await ActivatorUtilities.CreateInstance<EmailSender>(host.Services).RunOnceAsync(CancellationToken.None)).ShouldBe(0);
        smtp.Received.Count.ShouldBe(5);
        smtp.Received.Select(m => m.MessageId).Distinct().Count().ShouldBe(5);
        smtp.Received.Select(m => m.Subject).Order().ShouldBe(Enumerable.Range(0, 5).Select(i => $"Message {i}"));
    }

    [Fact]
    public async Task Two_processes_and_a_third_sender_deliver_each_mail_once()
    {
        await using var smtp = await TestSmtpServer.StartAsync();
        await using var bed = await SmsBed.CreateAsync(engine);
        var a = bed.Start(Smtp(smtp.Port));
        var b = bed.Start(Smtp(smtp.Port));
        var extra = ActivatorUtilities.CreateInstance<EmailSender>(b.Services);
        using var stop = new CancellationTokenSource();
        var hammer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { await extra.RunOnceAsync(stop.Token); }
                catch (OperationCanceledException) { return; }
                await Task.Delay(5);
            }
        });

        const int count = 30;
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => QueueAsync(i % 2 == 0 ? a : b, Message($"m{i}@example.com", $"Mail {i}"))));

        // Once every row is delivered no attempt is left to run: the count is final.
        await SmsBed.EventuallyAsync(() => EmailRowsAsync(a).Result.Count(r => r.status == (short)MessageStatus.Delivered) == count, Within,
            () => $"{smtp.Received.Count} of {count} received; server: {bed.Logs.Recent()}");
        await stop.CancelAsync();
        await hammer;
        smtp.Received.Count.ShouldBe(count);
        smtp.Received.Select(m => m.MessageId).Distinct().Count().ShouldBe(count);
        smtp.Received.Select(m => m.To.Mailboxes.Single().Address).Order().ShouldBe(Enumerable.Range(0, count).Select(i => $"m{i}@example.com").Order());
    }

    [Fact]
    public async Task A_message_with_a_due_time_is_not_sent_before_it()
    {
        await using var smtp = await TestSmtpServer.StartAsync();
        await using var bed = await SmsBed.CreateAsync(engine);
        var host = bed.Start(Smtp(smtp.Port));
        var due = DateTimeOffset.UtcNow.AddHours(1);
        (await QueueAsync(host, Message("later@example.com", "After quiet hours"), dueAt: due)).ShouldBeTrue();

        var clock = new FrozenClock(due.AddSeconds(-1));
        var sender = ActivatorUtilities.CreateInstance<EmailSender>(host.Services, (TimeProvider)clock);
        (await sender.RunOnceAsync(CancellationToken.None)).ShouldBe(0);
        smtp.Received.ShouldBeEmpty();
        clock.Advance(TimeSpan.FromSeconds(1));
        (await sender.RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        smtp.Received.Single().Subject.ShouldBe("After quiet hours");
        (await sender.RunOnceAsync(CancellationToken.None)).ShouldBe(0);
        smtp.Received.Count.ShouldBe(1);
    }

    [Fact]
    public async Task Sms_with_a_due_time_waits_and_the_sender_keeps_to_the_per_second_cap()
    {
        await using var bed = await SmsBed.CreateAsync(engine);
        var host = bed.Start(("Qianbao:Sms:PerSecondMax", "2"));
        var due = DateTimeOffset.UtcNow.AddHours(1);
        await using (var connection = await host.Services.GetRequiredService<Db>().OpenAsync())
        {
            await using var tx = await connection.BeginTransactionAsync();
            var outbox = host.Services.GetRequiredService<SmsOutbox>();
            for (var i = 0; i < 5; i++)
                await outbox.QueueAsync(connection, tx, "+86" + SmsBed.NewPhone(), MessageTemplate.PinChanged, "en", [], due, CancellationToken.None);
            await tx.CommitAsync();
        }

        var clock = new FrozenClock(due.AddMilliseconds(-1));
        var sender = ActivatorUtilities.CreateInstance<SmsSender>(host.Services, (TimeProvider)clock);
        (await sender.RunOnceAsync(CancellationToken.None)).ShouldBe(0, "not due yet");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        (await sender.RunOnceAsync(CancellationToken.None)).ShouldBe(2, "two a second");
        (await sender.RunOnceAsync(CancellationToken.None)).ShouldBe(0, "this second's cap is spent");
        clock.Advance(TimeSpan.FromMilliseconds(999));
        (await sender.RunOnceAsync(CancellationToken.None)).ShouldBe(0, "still the same second");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        (await sender.RunOnceAsync(CancellationToken.None)).ShouldBe(2, "the next second");
        clock.Advance(TimeSpan.FromSeconds(1));
        (await sender.RunOnceAsync(CancellationToken.None)).ShouldBe(1, "the last one");
    }
}

public sealed class SqliteEmailDeliveryTests() : EmailDeliveryTests(DatabaseEngine.Sqlite);

public sealed class PostgresEmailDeliveryTests() : EmailDeliveryTests(DatabaseEngine.Postgres);

public sealed class SendPacerTests
{
    [Fact]
    public void The_pacer_grants_what_is_left_of_the_seconds_cap_and_opens_a_new_window_after_a_second()
    {
        var pacer = new SendPacer(3);
        pacer.Grant(0, 16).ShouldBe(3);
        pacer.Use(0, 2);
        pacer.Grant(500_000, 16).ShouldBe(1);
        pacer.Exhausted(500_000).ShouldBeFalse();
        pacer.Use(500_000, 1);
        pacer.Exhausted(999_999).ShouldBeTrue();
        pacer.UntilNextWindow(999_999).ShouldBe(TimeSpan.FromMicroseconds(1));
        pacer.Grant(1_000_000, 16).ShouldBe(3);
        pacer.Grant(1_000_000, 2).ShouldBe(2);
    }
}
