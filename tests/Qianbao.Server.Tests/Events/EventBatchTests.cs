using System.Collections.Concurrent;
using Dapper;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Events;

/// <summary>A subscriber that commits its checkpoint with its effects (EventBatch): exactly once, also when it fails after the commit.</summary>
public abstract class EventBatchTests(DatabaseEngine engine) : IAsyncLifetime
{
    private EventsDatabase database = null!;

    public async Task InitializeAsync() => database = await EventsDatabase.CreateAsync(engine);

    public Task DisposeAsync()
    {
        database.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Writes one row per event and the checkpoint in one transaction; the first call throws after its commit.</summary>
    private sealed class Effects : IEventSubscriber
    {
        public Db? Db;
        public readonly ConcurrentQueue<bool> MayRepeat = new();
        public int Moved;
        public bool FailFirst = true;
        private int calls;

        public string Name => "test.effects";

        public Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct) => HandleAsync(EventBatch.Unchecked(events), ct);

        public async Task HandleAsync(EventBatch batch, CancellationToken ct)
        {
            // Set by the test once the host is up (no failure meanwhile: a failure would make the batch one that may repeat).
            while (Volatile.Read(ref Db) is null) await Task.Delay(10, ct);
            var db = Db!;
            MayRepeat.Enqueue(batch.MayRepeat);
            await using (var connection = await db.OpenAsync(ct))
            {
                await using var tx = await db.BeginWriteAsync(connection, ct);
                try
                {
                    await batch.CommitCheckpointAsync(connection, tx, ct);
                }
                catch (EventCheckpointMovedException)
                {
                    Interlocked.Increment(ref Moved);
                    throw;
                }
                foreach (var e in batch.Events)
                    await connection.ExecuteAsync(new CommandDefinition("INSERT INTO test_effects (event_id) VALUES (@id)",
                        new { id = e.EventId.ToString("N") }, tx, cancellationToken: ct));
                await tx.CommitAsync(ct);
            }
            // After the commit: the runner sees a failure and delivers the batch again from the checkpoint it holds.
            if (Interlocked.Increment(ref calls) == 1 && FailFirst) throw new InvalidOperationException("fails after its commit on purpose");
        }
    }

    [Fact]
    public async Task EffectsCommittedWithTheCheckpointHappenOnceEvenWhenTheHandlerFailsAfterTheCommit()
    {
        var effects = new Effects();
        await using var host = database.Start([effects]);
        await using (var connection = await host.Db.OpenAsync())
            await connection.ExecuteAsync("CREATE TABLE test_effects (event_id text NOT NULL)");
        effects.Db = host.Db;

        var first = SampleEvents.Transfers(5);
        await host.AppendAsync(first);
        await Poll.UntilAsync(async () => await host.CountAsync("SELECT COUNT(*) FROM test_effects") >= 5, "the first batch's effects", 20_000);
        // The repeat found the checkpoint moved and rolled back; the loop read its lease again and carries on.
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref effects.Moved) >= 1), "the repeated batch to find its checkpoint moved", 20_000);
        var second = SampleEvents.Transfers(3);
        await host.AppendAsync(second);
        await Poll.UntilAsync(async () => await host.CountAsync("SELECT COUNT(*) FROM test_effects") >= 8, "the second batch's effects", 20_000);

        // After the re-read lease's first batch (it may repeat too), one under the unbroken lease.
        var third = SampleEvents.Transfers(2);
        await host.AppendAsync(third);
        await Poll.UntilAsync(async () => await host.CountAsync("SELECT COUNT(*) FROM test_effects") >= 10, "the third batch's effects", 20_000);

        (await host.CountAsync("SELECT COUNT(*) FROM test_effects")).ShouldBe(10);
        (await host.CountAsync("SELECT COUNT(DISTINCT event_id) FROM test_effects")).ShouldBe(10);
        (await host.CountAsync("SELECT handled_count FROM event_subscriptions WHERE name = 'test.effects'")).ShouldBe(10);
        // Events appended after the lease was taken cannot have been handled by another holder: they do not repeat; the
        // batch after the failure may.
        var seen = effects.MayRepeat.ToArray();
        seen[0].ShouldBeFalse();
        seen[1].ShouldBeTrue();
        seen[^1].ShouldBeFalse();
    }

    [Fact]
    public async Task EventsAlreadyInTheLogWhenTheLeaseIsTakenMayRepeat()
    {
        var first = SampleEvents.Transfers(4);
        await using (var before = database.Start([]))
        {
            await before.AppendAsync(first);
            await using var connection = await before.Db.OpenAsync();
            await connection.ExecuteAsync("CREATE TABLE test_effects (event_id text NOT NULL)");
        }
        var effects = new Effects { FailFirst = false };
        await using var host = database.Start([effects]);
        effects.Db = host.Db;
        await Poll.UntilAsync(async () => await host.CountAsync("SELECT COUNT(*) FROM test_effects") >= 4, "the logged events' effects", 20_000);
        await host.AppendAsync(SampleEvents.Transfers(2));
        await Poll.UntilAsync(async () => await host.CountAsync("SELECT COUNT(*) FROM test_effects") >= 6, "the new events' effects", 20_000);
        var seen = effects.MayRepeat.ToArray();
        seen[0].ShouldBeTrue();
        seen[^1].ShouldBeFalse();
        (await host.CountAsync("SELECT COUNT(DISTINCT event_id) FROM test_effects")).ShouldBe(6);
    }
}

public sealed class SqliteEventBatchTests() : EventBatchTests(DatabaseEngine.Sqlite);

public sealed class PostgresEventBatchTests() : EventBatchTests(DatabaseEngine.Postgres);
