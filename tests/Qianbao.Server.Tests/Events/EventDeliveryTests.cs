using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Events;

/// <summary>The outbox and its subscribers on one engine: order, retries, isolation, late subscribers, retention, producers.</summary>
public abstract class EventDeliveryTests(DatabaseEngine engine) : IAsyncLifetime
{
    private EventsDatabase database = null!;

    public async Task InitializeAsync() => database = await EventsDatabase.CreateAsync(engine);

    public Task DisposeAsync()
    {
        database.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AppendedEventsAreDeliveredInOrderInBoundedBatchesAndReappendingIsANoOp()
    {
        var recorder = new RecordingSubscriber("recorder");
        await using var host = database.Start([recorder], new Dictionary<string, string> { ["Qianbao:Events:BatchSizeMax"] = "7" });

        var first = SampleEvents.Transfers(10);
        await host.AppendAsync(first);
        // Half of these were appended already: only the five new ones are stored, after the first ten.
        var second = SampleEvents.Transfers(5);
        await host.AppendAsync([.. first[5..], .. second, second[0]]);
        // A rolled-back transaction leaves no event behind.
        var rolledBack = SampleEvents.Transfers(3);
        await host.AppendAsync(rolledBack, commit: false);
        var last = SampleEvents.Transfer();
        await host.AppendAsync([last]);

        await recorder.UntilHandledAsync(16);
        var expected = first.Concat(second).Append(last).Select(e => e.EventId).ToArray();
        recorder.Handled.Select(e => e.EventId).ShouldBe(expected);
        recorder.BatchSizes.ShouldAllBe(n => n >= 1 && n <= 7);
        (await host.CountAsync("SELECT COUNT(*) FROM domain_events")).ShouldBe(16);

        // The stored form: the stable type name, the stream and snake_case JSON that reads back as the typed record.
        var stored = recorder.Handled[0];
        stored.Type.ShouldBe("transfer.completed");
        stored.Stream.ShouldBe("transfer:" + first[0].TransferId.ToString("N"));
        JsonNode.Parse(stored.Payload)!["amount_minor"]!.GetValue<long>().ShouldBe(first[0].AmountMinor);
        stored.Event.ShouldBe(first[0]);
        stored.OccurredAtUs.ShouldBe(first[0].OccurredAtUs);
        recorder.Handled.Select(e => e.Position).ShouldBeInOrder();
    }

    [Fact]
    public async Task AFailingSubscriberIsRetriedAndDoesNotHoldBackAnother()
    {
        var failing = true;
        var flaky = new RecordingSubscriber("flaky") { FailWhile = () => Volatile.Read(ref failing) };
        var steady = new RecordingSubscriber("steady");
        await using var host = database.Start([flaky, steady]);

        var events = SampleEvents.Transfers(5);
        await host.AppendAsync(events);
        await steady.UntilHandledAsync(5);
        await Poll.UntilAsync(() => Task.FromResult(flaky.Calls >= 3), "the failing subscriber to be retried");
        flaky.Handled.ShouldBeEmpty();
        await using (var connection = await host.Db.OpenAsync())
        {
            var row = await connection.QuerySingleAsync<(long Failures, string LastError)>(
                "SELECT failures, last_error FROM event_subscriptions WHERE name = 'flaky'");
            row.Failures.ShouldBeGreaterThanOrEqualTo(1);
            row.LastError.ShouldContain("refuses on purpose");
        }

        Volatile.Write(ref failing, false);
        await flaky.UntilHandledAsync(5);
        flaky.Handled.Select(e => e.EventId).ShouldBe(events.Select(e => e.EventId));
        steady.Handled.Count.ShouldBe(5);
        // Success clears the failure record.
        await Poll.UntilAsync(async () => await host.CountAsync("SELECT failures FROM event_subscriptions WHERE name = 'flaky'") == 0,
            "the failure count to be reset");
    }

    [Fact]
    public async Task ASubscriberAddedLaterReplaysRetainedEventsAndCheckpointsSurviveARestart()
    {
        var events = SampleEvents.Transfers(6);
        var early = new RecordingSubscriber("early");
        await using (var first = database.Start([early]))
        {
            await first.AppendAsync(events);
            await early.UntilHandledAsync(6);
            // The checkpoint is written after the handler returns; a stop before that write would (rightly, at least
            // once) deliver the batch again, so wait for it before stopping.
            await Poll.UntilAsync(async () => await first.CountAsync("SELECT handled_count FROM event_subscriptions WHERE name = 'early'") == 6,
                "the early subscriber's checkpoint to be stored");
        }

        var earlyAgain = new RecordingSubscriber("early");
        var late = new RecordingSubscriber("late");
        await using var second = database.Start([earlyAgain, late]);
        await late.UntilHandledAsync(6);
        late.Handled.Select(e => e.EventId).ShouldBe(events.Select(e => e.EventId));

        // The early subscriber resumes from its checkpoint: it sees the new event only.
        var next = SampleEvents.Transfer();
        await second.AppendAsync([next]);
        await late.UntilHandledAsync(7);
        await earlyAgain.UntilHandledAsync(1);
        earlyAgain.Handled.Select(e => e.EventId).ShouldBe([next.EventId]);
    }

    [Fact]
    public async Task ASubscriberOfSomeTypesGetsOnlyThoseAndItsCheckpointPassesOverTheRest()
    {
        var registered = new UserRegistered(Guid.CreateVersion7(), "138****0000")
        {
            EventId = Guid.CreateVersion7(), OccurredAtUs = SampleEvents.NowUs,
        };
        var picky = new RecordingSubscriber("picky", new HashSet<string> { EventTypes.NameOf<UserRegistered>() });
        var all = new RecordingSubscriber("all");
        await using var host = database.Start([picky, all]);
        await host.AppendAsync([.. SampleEvents.Transfers(20), registered, .. SampleEvents.Transfers(5)]);
        await all.UntilHandledAsync(26);
        await picky.UntilHandledAsync(1);
        picky.Handled.Select(e => e.EventId).ShouldBe([registered.EventId]);
        // Passing over the transfers behind it costs no handler call, and the stored checkpoint catches up within a second or so.
        picky.Calls.ShouldBe(1);
        await Poll.UntilAsync(async () => await host.CountAsync(
                "SELECT count(*) FROM event_subscriptions p, event_subscriptions a WHERE p.name = 'picky' AND a.name = 'all' AND p.tx_id = a.tx_id AND p.seq = a.seq") == 1,
            "the picky subscriber's checkpoint to reach the end");
    }

    [Fact]
    public async Task RetentionPurgeRemovesOnlyEventsOlderThanRetentionDays()
    {
        var day = TimeSpan.FromDays(1).Ticks / 10;
        var now = SampleEvents.NowUs;
        await using (var host = database.Start([], new Dictionary<string, string> { ["Qianbao:Events:RetentionDays"] = "30" }))
        {
            var old = SampleEvents.Transfers(3, now - 40 * day);
            var borderline = SampleEvents.Transfers(2, now - 29 * day);
            var fresh = SampleEvents.Transfers(2, now);
            await host.AppendAsync([.. old, .. borderline]);
            await host.AppendAsync(fresh);

            await host.Runner.PurgeAsync(CancellationToken.None);
            (await host.CountAsync("SELECT COUNT(*) FROM domain_events")).ShouldBe(4);
            (await host.Runner.PurgeAsync(CancellationToken.None)).ShouldBe(0);
        }

        // What is kept is what a new subscriber gets.
        var late = new RecordingSubscriber("after_purge");
        await using var again = database.Start([late]);
        await late.UntilHandledAsync(4);
        late.Handled.ShouldAllBe(e => e.OccurredAtUs >= now - 30 * day);
    }

    [Fact]
    public async Task RegisteringAUserAndVerifyingAMerchantEmitTheirEventsOnce()
    {
        var recorder = new RecordingSubscriber("producers");
        await using var host = database.Start([recorder]);
        var http = host.CreateClient();
        var user = await WalletClient.RegisterAsync(http);

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", EventsHost.OperatorKey);
        var created = await http.PostAsJsonAsync("/admin/v1/merchants", new
        {
            name = "Events Shop", credit_code = CreditCodes.New(), legal_person = "Wang", contact_phone = "13800138000", fee_bps = 60,
        });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var merchantId = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        for (var i = 0; i < 2; i++)
            (await http.PostAsync($"/admin/v1/merchants/{merchantId}/verify", null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        await recorder.UntilHandledAsync(2);
        var registered = recorder.Handled[0].Event.ShouldBeOfType<UserRegistered>();
        registered.UserId.ShouldBe(user.UserId);
        registered.PhoneMasked.ShouldNotContain(user.Phone[3..]);
        recorder.Handled[0].Payload.ShouldNotContain(user.Phone[3..]);
        recorder.Handled[1].Event.ShouldBeOfType<MerchantVerified>().MerchantId.ShouldBe(merchantId);
        (await host.CountAsync("SELECT COUNT(*) FROM domain_events")).ShouldBe(2);
    }
}

public sealed class SqliteEventDeliveryTests() : EventDeliveryTests(DatabaseEngine.Sqlite);

public sealed class PostgresEventDeliveryTests() : EventDeliveryTests(DatabaseEngine.Postgres);
