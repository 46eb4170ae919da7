using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Events;

/// <summary>
/// PostgreSQL assigns seq at insert but transactions commit in any order. A reader must never pass an event that
/// can still appear behind it: here the transaction holding seq 1 commits after the one holding seq 2.
/// </summary>
public sealed class EventVisibilityTests : IAsyncLifetime
{
    private EventsDatabase database = null!;

    public async Task InitializeAsync() => database = await EventsDatabase.CreateAsync(DatabaseEngine.Postgres);

    public Task DisposeAsync()
    {
        database.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AnEventCommittedOutOfSeqOrderIsNeitherSkippedNorDeliveredOutOfOrder()
    {
        var recorder = new RecordingSubscriber("visibility");
        await using var host = database.Start([recorder]);
        var first = SampleEvents.Transfer();
        var second = SampleEvents.Transfer();

        await using var slow = await host.Db.OpenAsync();
        await using var slowTx = await slow.BeginTransactionAsync();
        await EventLog.AppendAsync(slow, slowTx, [first]);
        await using (var fast = await host.Db.OpenAsync())
        {
            await using var fastTx = await fast.BeginTransactionAsync();
            await EventLog.AppendAsync(fast, fastTx, [second]);
            await fastTx.CommitAsync();
        }

        // The second event is committed, but a transaction older than it is still open: nothing is readable yet,
        // although "seq > 0" alone would return the second event and a checkpoint there would skip the first.
        await using (var reader = await host.Db.OpenAsync())
        {
            (await EventLog.ReadAsync(reader, EventPosition.Start, 100)).ShouldBeEmpty();
        }
        host.Services.GetRequiredService<EventSignal>().Nudge();

        await slowTx.CommitAsync();
        host.Services.GetRequiredService<EventSignal>().Nudge();
        await recorder.UntilHandledAsync(2);
        recorder.Handled.Select(e => e.EventId).ShouldBe([first.EventId, second.EventId]);
    }
}
