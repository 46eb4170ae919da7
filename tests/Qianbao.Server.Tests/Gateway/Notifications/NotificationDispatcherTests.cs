using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Adapters.Alipay.Notifications;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Gateway.Notifications;

/// <summary>
/// The notification dispatcher against a real database and a real HTTP receiver, on each engine. Each test gets a
/// fresh database and receiver.
/// </summary>
public abstract class NotificationDispatcherTests(DatabaseEngine engine) : IAsyncLifetime
{
    private NotifyBed? bed;
    private NotifyReceiver? receiver;

    protected NotifyBed Bed => bed!;
    protected NotifyReceiver Receiver => receiver!;

    public async Task InitializeAsync()
    {
        bed = await NotifyBed.CreateAsync(engine);
        receiver = await NotifyReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (receiver is not null) await receiver.DisposeAsync();
        if (bed is not null) await bed.DisposeAsync();
    }

    [Fact]
    public async Task DeliveredOnFirstSuccess()
    {
        var (id, notifyId) = await Bed.InsertAsync(Receiver.Url);
        var dispatcher = Bed.NewDispatcher();
        var before = TimeProvider.System.GetUnixMicroseconds();

        (await dispatcher.RunOnceAsync(CancellationToken.None)).ShouldBe(1);

        var row = await Bed.GetAsync(id);
        row.status.ShouldBe("delivered");
        row.attempts.ShouldBe(1);
        row.delivered_at_us.ShouldNotBeNull().ShouldBeGreaterThanOrEqualTo(before);
        row.last_error.ShouldBeNull();

        var sent = Receiver.Received.ShouldHaveSingleItem();
        sent.Path.ShouldBe("/notify");
        sent.ContentType.ShouldBe("application/x-www-form-urlencoded; charset=utf-8");
        sent.Fields["notify_id"].ShouldBe(notifyId);
        sent.Fields["notify_type"].ShouldBe("trade_status_sync");
        sent.Fields["trade_status"].ShouldBe("TRADE_SUCCESS");
        sent.Fields["total_amount"].ShouldBe("12.34");
        sent.Fields["subject"].ShouldBe("中文 & = 测试 +%");
        AlipayTime.TryParseChina(sent.Fields["notify_time"], out var notifyTime).ShouldBeTrue(sent.Fields["notify_time"]);
        (notifyTime - DateTimeOffset.UtcNow).Duration().ShouldBeLessThan(TimeSpan.FromMinutes(1));
        sent.ShouldBeSignedByPlatform();

        // Nothing is due any more: a delivered row is never sent again by itself.
        (await dispatcher.RunOnceAsync(CancellationToken.None)).ShouldBe(0);
        Receiver.Received.Count.ShouldBe(1);
    }

    [Fact]
    public async Task FailThenSuccessRetriesWithTheSameNotifyIdAndValidSignatures()
    {
        Receiver.Answer = n => n == 1 ? "fail" : "success";
        var (id, notifyId) = await Bed.InsertAsync(Receiver.Url);
        var dispatcher = Bed.NewDispatcher();

        (await dispatcher.RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        var afterFirst = await Bed.GetAsync(id);
        afterFirst.status.ShouldBe("pending");
        afterFirst.attempts.ShouldBe(1);
        afterFirst.last_error.ShouldNotBeNull().ShouldContain("\"fail\"");
        afterFirst.last_error.ShouldContain("HTTP 200");

        var row = await Bed.RunUntilAsync(dispatcher, id, "delivered");
        row.attempts.ShouldBe(2);
        row.last_error.ShouldBe(afterFirst.last_error, "the last error stays for the operator to see");
        Receiver.Received.Count.ShouldBe(2);
        foreach (var sent in Receiver.Received)
        {
            sent.Fields["notify_id"].ShouldBe(notifyId);
            sent.ShouldBeSignedByPlatform();
        }
    }

    [Theory]
    [InlineData("success", true)]
    [InlineData(" success\r\n", true)]
    [InlineData("\tsuccess \n", true)]
    [InlineData("SUCCESS", false)]
    [InlineData("success!", false)]
    [InlineData("successsuccess", false)]
    [InlineData("", false)]
    [InlineData("\uFEFFsuccess", false)]
    [InlineData("<html>success</html>", false)]
    public async Task OnlyTheWordSuccessCountsAsDelivered(string answer, bool delivered)
    {
        Receiver.Answer = _ => answer;
        var (id, _) = await Bed.InsertAsync(Receiver.Url);
        (await Bed.NewDispatcher().RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        var row = await Bed.GetAsync(id);
        row.status.ShouldBe(delivered ? "delivered" : "pending");
        row.attempts.ShouldBe(1);
    }

    [Fact]
    public async Task ALongAnswerIsAFailureAndOnlyAnExcerptIsKept()
    {
        Receiver.Answer = _ => "success" + new string(' ', 2_000) + "x";
        var (id, _) = await Bed.InsertAsync(Receiver.Url);
        (await Bed.NewDispatcher().RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        var row = await Bed.GetAsync(id);
        row.status.ShouldBe("pending");
        row.last_error.ShouldNotBeNull().Length.ShouldBeLessThanOrEqualTo(NotificationDispatcher.LastErrorLengthMax);
    }

    [Fact]
    public async Task ExhaustingTheScheduleFailsTheDelivery()
    {
        Bed.Settings["Qianbao:Gateway:NotifyRetrySchedule"] = "00:00:00.050,00:00:00.050";
        Receiver.Answer = _ => "fail";
        var (id, notifyId) = await Bed.InsertAsync(Receiver.Url);
        var dispatcher = Bed.NewDispatcher();

        var row = await Bed.RunUntilAsync(dispatcher, id, "failed");
        row.attempts.ShouldBe(3);
        row.delivered_at_us.ShouldBeNull();
        row.last_error.ShouldNotBeNull().ShouldContain("\"fail\"");
        Receiver.Received.Count.ShouldBe(3);
        Receiver.Received.ShouldAllBe(n => n.Fields["notify_id"] == notifyId);

        // Failed is final until an operator replays it.
        (await dispatcher.RunOnceAsync(CancellationToken.None)).ShouldBe(0);
        Receiver.Received.Count.ShouldBe(3);
    }

    [Fact]
    public async Task TheNextAttemptIsDueAfterTheScheduledDelay()
    {
        Bed.Settings["Qianbao:Gateway:NotifyRetrySchedule"] = "00:04:00,00:10:00";
        Receiver.Answer = _ => "fail";
        var (id, _) = await Bed.InsertAsync(Receiver.Url);
        var dispatcher = Bed.NewDispatcher();
        dispatcher.RetrySchedule.ShouldBe([TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(10)]);

        var before = TimeProvider.System.GetUnixMicroseconds();
        (await dispatcher.RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        var after = TimeProvider.System.GetUnixMicroseconds();
        var row = await Bed.GetAsync(id);
        row.attempts.ShouldBe(1);
        row.next_attempt_at_us.ShouldBeInRange(before + 240_000_000, after + 240_000_000);
        // Not due yet, so another pass sends nothing.
        (await dispatcher.RunOnceAsync(CancellationToken.None)).ShouldBe(0);
        Receiver.Received.Count.ShouldBe(1);
    }

    [Fact]
    public async Task ARefusedConnectionCountsAsAFailedAttempt()
    {
        var (id, _) = await Bed.InsertAsync($"http://127.0.0.1:{NotifyBed.ClosedPort()}/notify");
        (await Bed.NewDispatcher().RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        var row = await Bed.GetAsync(id);
        row.status.ShouldBe("pending");
        row.attempts.ShouldBe(1);
        row.last_error.ShouldNotBeNull().ShouldContain("request failed");
    }

    [Fact]
    public async Task AReceiverThatNeverAnswersCountsAsAFailedAttempt()
    {
        Bed.Settings["Qianbao:Gateway:NotifyTimeoutMs"] = "300";
        Receiver.Answer = n => n == 1 ? null : "success";
        var (id, _) = await Bed.InsertAsync(Receiver.Url);
        var dispatcher = Bed.NewDispatcher();

        (await dispatcher.RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        var row = await Bed.GetAsync(id);
        row.status.ShouldBe("pending");
        row.attempts.ShouldBe(1);
        row.last_error.ShouldBe("no complete answer within 300 ms");

        // The retry by a dispatcher with room to answer in: at 300 ms a loaded test machine can miss the answer that does come.
        Bed.Settings["Qianbao:Gateway:NotifyTimeoutMs"] = "10000";
        (await Bed.RunUntilAsync(Bed.NewDispatcher(), id, "delivered")).attempts.ShouldBe(2);
    }

    [Fact]
    public async Task AUrlThatIsNotHttpCountsAsAFailedAttempt()
    {
        var (id, _) = await Bed.InsertAsync("ftp://127.0.0.1/notify");
        (await Bed.NewDispatcher().RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        var row = await Bed.GetAsync(id);
        row.attempts.ShouldBe(1);
        row.last_error.ShouldBe("notify url is not an absolute http(s) URL");
    }

    [Fact]
    public async Task ARowSurvivesARestart()
    {
        Receiver.Answer = n => n == 1 ? "fail" : "success";
        var (id, notifyId) = await Bed.InsertAsync(Receiver.Url);
        (await Bed.NewDispatcher().RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        (await Bed.GetAsync(id)).attempts.ShouldBe(1);

        // A new process: nothing but the table carries the state over.
        var row = await Bed.RunUntilAsync(Bed.NewDispatcher(), id, "delivered");
        row.attempts.ShouldBe(2);
        Receiver.Received.Select(n => n.Fields["notify_id"]).ShouldBe([notifyId, notifyId]);
    }

    [Fact]
    public async Task AClaimHeldByAnotherProcessIsRespectedUntilItExpires()
    {
        var (id, _) = await Bed.InsertAsync(Receiver.Url);
        var dispatcher = Bed.NewDispatcher();

        // Another process claimed the row (moved it to its lease) and is sending: not due here.
        var lease = TimeProvider.System.GetUnixMicroseconds() + 60_000_000;
        await SetNextAttemptAsync(id, lease);
        (await dispatcher.RunOnceAsync(CancellationToken.None)).ShouldBe(0);
        Receiver.Received.ShouldBeEmpty();

        // That process died: once its lease has passed, the row is due again and this process sends it.
        await SetNextAttemptAsync(id, TimeProvider.System.GetUnixMicroseconds() - 1);
        (await dispatcher.RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        (await Bed.GetAsync(id)).status.ShouldBe("delivered");
    }

    [Fact]
    public async Task TwoDispatchersDeliverEachRowExactlyOnce()
    {
        const int rows = 40;
        var ids = new List<Guid>();
        for (var i = 0; i < rows; i++) ids.Add((await Bed.InsertAsync(Receiver.Url, tradeNo: $"T{i:D4}")).Id);
        var first = Bed.NewDispatcher();
        var second = Bed.NewDispatcher();

        var attempted = 0;
        await Poll.UntilAsync(async () =>
        {
            // Both see the same due rows at the same moment; only claims decide who sends.
            var counts = await Task.WhenAll(Task.Run(() => first.RunOnceAsync(CancellationToken.None)), Task.Run(() => second.RunOnceAsync(CancellationToken.None)));
            attempted += counts.Sum();
            return Receiver.Received.Count >= rows && (await Task.WhenAll(ids.Select(Bed.GetAsync))).All(r => r.status == "delivered");
        }, "every row delivered");

        attempted.ShouldBe(rows);
        Receiver.Received.Count.ShouldBe(rows);
        Receiver.Received.Select(n => n.Fields["notify_id"]).Distinct().Count().ShouldBe(rows);
        foreach (var id in ids) (await Bed.GetAsync(id)).attempts.ShouldBe(1);
    }

    [Fact]
    public async Task NudgeDeliversWithoutWaitingForThePoll()
    {
        // The poll interval is ten minutes here; only the nudge can make the second row go out within the bound.
        var dispatcher = Bed.NewDispatcher();
        var (first, _) = await Bed.InsertAsync(Receiver.Url, tradeNo: "T-first");
        await dispatcher.StartAsync(CancellationToken.None);
        try
        {
            await Poll.UntilAsync(async () => (await Bed.GetAsync(first)).status == "delivered", "the start-up pass");
            var (second, _) = await Bed.InsertAsync(Receiver.Url, tradeNo: "T-second");
            dispatcher.Nudge();
            await Poll.UntilAsync(async () => (await Bed.GetAsync(second)).status == "delivered", "the nudged delivery", timeoutMs: 10_000);
        }
        finally
        {
            await dispatcher.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task UnusableFieldsFailTheRowWithoutSending()
    {
        var (id, _) = await Bed.InsertAsync(Receiver.Url);
        await using (var connection = await Bed.Db.OpenAsync())
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, "UPDATE notify_deliveries SET fields_json = @json WHERE id = @id", new { id, json = "{\"sign\":\"x\"}" });
        }

        (await Bed.NewDispatcher().RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        var row = await Bed.GetAsync(id);
        row.status.ShouldBe("failed");
        row.attempts.ShouldBe(0);
        row.last_error.ShouldNotBeNull().ShouldContain("unusable notification fields");
        Receiver.Received.ShouldBeEmpty();
    }

    private async Task SetNextAttemptAsync(Guid id, long nextUs)
    {
        await using var connection = await Bed.Db.OpenAsync();
        await Dapper.SqlMapper.ExecuteAsync(connection, "UPDATE notify_deliveries SET next_attempt_at_us = @nextUs WHERE id = @id", new { id, nextUs });
    }
}

public sealed class SqliteNotificationDispatcherTests() : NotificationDispatcherTests(DatabaseEngine.Sqlite);

public sealed class PostgresNotificationDispatcherTests() : NotificationDispatcherTests(DatabaseEngine.Postgres);
