using System.Diagnostics;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Adapters.Alipay.Notifications;
using Qianbao.Server.Modules.Acquiring;

namespace Qianbao.Server.Tests.Gateway.Notifications;

/// <summary>
/// Delivery stays fair and stays outside: a merchant whose receiver hangs holds only its own few sending slots, so
/// another merchant's notification goes out within 15 s; and with private notify URLs not allowed, a delivery whose
/// host resolves to a private address (DNS rebinding, or a row written before the setting changed) is refused at
/// connect time and recorded as a failed attempt. Real HTTP listeners on loopback, on each engine.
/// </summary>
public abstract class NotificationFairnessTests(DatabaseEngine engine) : IAsyncLifetime
{
    private const int FairnessBoundMs = 15_000;

    private NotifyBed? bed;
    private readonly List<NotifyReceiver> receivers = [];

    protected NotifyBed Bed => bed!;

    public async Task InitializeAsync() => bed = await NotifyBed.CreateAsync(engine);

    public async Task DisposeAsync()
    {
        foreach (var receiver in receivers) await receiver.DisposeAsync();
        if (bed is not null) await bed.DisposeAsync();
    }

    [Fact]
    public async Task A_hanging_merchant_does_not_delay_another_merchants_notification()
    {
        // The shipped defaults for the timeout and the poll: fairness must not depend on tuning them down.
        Bed.Settings["Qianbao:Gateway:NotifyTimeoutMs"] = "10000";
        Bed.Settings["Qianbao:Gateway:NotifyPollIntervalMs"] = "1000";
        var hanging = await ReceiverAsync(_ => null);
        var healthy = await ReceiverAsync(_ => "success");
        var slowMerchant = Guid.CreateVersion7();
        var otherMerchant = Guid.CreateVersion7();

        // A backlog larger than every sending slot together, all for the merchant whose receiver never answers.
        for (var i = 0; i < 2 * NotificationDispatcher.SendConcurrencyMax; i++) await InsertAsync(slowMerchant, hanging.Url);
        var dispatcher = Bed.NewDispatcher();
        await dispatcher.StartAsync(CancellationToken.None);
        try
        {
            await Poll.UntilAsync(() => Task.FromResult(hanging.Received.Count >= NotificationDispatcher.MerchantSendConcurrencyMax), "the hanging receiver to be busy");

            var clock = Stopwatch.StartNew();
            var id = await InsertAsync(otherMerchant, healthy.Url);
            dispatcher.Nudge();
            await Poll.UntilAsync(async () => (await Bed.GetAsync(id)).status == "delivered", "the other merchant's notification", FairnessBoundMs);
            clock.ElapsedMilliseconds.ShouldBeLessThan(FairnessBoundMs);

            // The slow merchant never held more than its own slots at once.
            hanging.Received.Count.ShouldBeLessThanOrEqualTo(NotificationDispatcher.MerchantSendConcurrencyMax);
        }
        finally
        {
            await dispatcher.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_merchant_backlog_does_not_fill_the_batch()
    {
        // One pass selects at most a few rows per merchant, so the second merchant's row is in the very first pass
        // even though the first merchant has more rows due than the whole batch.
        Bed.Settings["Qianbao:Gateway:NotifyBatchMax"] = "5";
        var receiver = await ReceiverAsync(_ => "success");
        var busy = Guid.CreateVersion7();
        for (var i = 0; i < 10; i++) await InsertAsync(busy, receiver.Url);
        var other = await InsertAsync(Guid.CreateVersion7(), receiver.Url);

        (await Bed.NewDispatcher().RunOnceAsync(CancellationToken.None)).ShouldBe(NotificationDispatcher.MerchantSendConcurrencyMax + 1);
        (await Bed.GetAsync(other)).status.ShouldBe("delivered");
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task With_private_urls_refused_a_delivery_to_a_private_address_is_a_failed_attempt(string host)
    {
        Bed.Settings["Qianbao:Gateway:AllowPrivateNotifyUrls"] = "false";
        var receiver = await ReceiverAsync(_ => "success");
        var url = receiver.Url.Replace("127.0.0.1", host, StringComparison.Ordinal);
        var id = await InsertAsync(Guid.CreateVersion7(), url);

        (await Bed.NewDispatcher().RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        var row = await Bed.GetAsync(id);
        row.status.ShouldBe("pending");
        row.attempts.ShouldBe(1);
        row.last_error.ShouldNotBeNull().ShouldContain("no public address");
        receiver.Received.ShouldBeEmpty();
    }

    [Fact]
    public async Task Production_mode_refuses_private_deliveries_by_default_and_sandbox_mode_delivers_them()
    {
        var receiver = await ReceiverAsync(_ => "success");
        Bed.Settings["Qianbao:Mode"] = "production";
        var refused = await InsertAsync(Guid.CreateVersion7(), receiver.Url);
        (await Bed.NewDispatcher().RunOnceAsync(CancellationToken.None)).ShouldBe(1);
        (await Bed.GetAsync(refused)).last_error.ShouldNotBeNull().ShouldContain("no public address");
        receiver.Received.ShouldBeEmpty();

        Bed.Settings["Qianbao:Mode"] = "sandbox";
        var row = await Bed.RunUntilAsync(Bed.NewDispatcher(), refused, "delivered");
        row.attempts.ShouldBe(2);
        receiver.Received.ShouldHaveSingleItem();
    }

    private async Task<NotifyReceiver> ReceiverAsync(Func<int, string?> answer)
    {
        var receiver = await NotifyReceiver.StartAsync();
        receiver.Answer = answer;
        receivers.Add(receiver);
        return receiver;
    }

    /// <summary>A paid trade of <paramref name="merchant"/> and its payment notification to <paramref name="url"/>, as the gateway writes them.</summary>
    private async Task<Guid> InsertAsync(Guid merchant, string url)
    {
        var now = TimeProvider.System.GetUnixMicroseconds();
        var tradeNo = TradeStore.NewTradeNo(DateTimeOffset.UtcNow);
        var (trade, _) = await new TradeStore(Bed.Db).CreateAsync(new TradeRow
        {
            trade_no = tradeNo, app_id = "2026000000000001", merchant_id = merchant, out_trade_no = "FAIR-" + tradeNo, kind = "precreate",
            status = TradeStatus.Success, total_amount = 100, subject = "公平", notify_url = url, request_hash = "h", created_at_us = now, paid_at_us = now,
            expires_at_us = now + 60_000_000,
        }, CancellationToken.None);
        var effect = NotificationOutbox.Queue(trade, appNotifyUrl: null, "payment", new TradeChange(TradeStatus.Success, 0, Guid.CreateVersion7(), now), now, Guid.CreateVersion7())!;
        await using var connection = await Bed.Db.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await NotificationOutbox.InsertAsync(connection, tx, [effect], CancellationToken.None);
        await tx.CommitAsync();
        return effect.Id;
    }
}

public sealed class SqliteNotificationFairnessTests() : NotificationFairnessTests(DatabaseEngine.Sqlite);

public sealed class PostgresNotificationFairnessTests() : NotificationFairnessTests(DatabaseEngine.Postgres);
