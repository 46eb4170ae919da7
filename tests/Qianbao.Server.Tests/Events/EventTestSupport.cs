using System.Collections.Concurrent;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Events;

/// <summary>
/// One database that several in-process hosts can start on one after another (or side by side), so a test can stop
/// a server and start another with other subscribers on the same events.
/// </summary>
public sealed class EventsDatabase : IDisposable
{
    private EventsDatabase(DatabaseEngine engine, string dataDir, string? postgres)
    {
        Engine = engine;
        DataDir = dataDir;
        PostgresConnectionString = postgres;
    }

    public DatabaseEngine Engine { get; }
    public string DataDir { get; }
    public string? PostgresConnectionString { get; }

    public static async Task<EventsDatabase> CreateAsync(DatabaseEngine engine)
    {
        var dir = Directory.CreateTempSubdirectory("qianbao-events-").FullName;
        var postgres = engine == DatabaseEngine.Postgres ? await PostgresCluster.Shared.CreateDatabaseAsync("events") : null;
        return new EventsDatabase(engine, dir, postgres);
    }

    /// <summary>Starts the real server in-process on this database with <paramref name="subscribers"/> registered.</summary>
    public EventsHost Start(IReadOnlyList<IEventSubscriber> subscribers, IReadOnlyDictionary<string, string>? settings = null)
    {
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Qianbao:DataDir", DataDir);
            b.UseSetting("Qianbao:OperatorKey", EventsHost.OperatorKey);
            b.UseSetting("Qianbao:Auth:PasswordIterations", "1000");
            b.UseSetting("Logging:LogLevel:Default", "Warning");
            b.UseSetting("Qianbao:Events:PollIntervalMs", "50");
            b.UseSetting("Qianbao:Security:Relaxed", "true");
            b.UseSetting("Qianbao:Events:RetryDelayMaxMs", "200");
            if (PostgresConnectionString is not null) b.UseSetting("ConnectionStrings:Postgres", PostgresConnectionString);
            foreach (var (key, value) in settings ?? new Dictionary<string, string>()) b.UseSetting(key, value);
            b.ConfigureServices(services =>
            {
                foreach (var s in subscribers) services.AddSingleton(s);
            });
        });
        _ = factory.Server; // start now, so failures surface here
        return new EventsHost(factory);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // Still held open by a pool: the OS cleans temp directories later.
        }
    }
}

public sealed class EventsHost(WebApplicationFactory<Program> factory) : IAsyncDisposable
{
    public const string OperatorKey = "events-operator-key";

    public IServiceProvider Services => factory.Services;
    public Db Db => Services.GetRequiredService<Db>();
    public EventRunner Runner => Services.GetRequiredService<EventRunner>();
    public HttpClient CreateClient() => factory.CreateClient();

    /// <summary>Appends <paramref name="events"/> in one transaction, commits (or rolls back) and nudges the subscribers.</summary>
    public async Task AppendAsync(IReadOnlyList<DomainEvent> events, bool commit = true)
    {
        await using (var connection = await Db.OpenAsync())
        {
            await using var tx = await connection.BeginTransactionAsync();
            await EventLog.AppendAsync(connection, tx, events);
            if (commit) await tx.CommitAsync();
            else await tx.RollbackAsync();
        }
        Services.GetRequiredService<EventSignal>().Nudge();
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var connection = await Db.OpenAsync();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public ValueTask DisposeAsync() => factory.DisposeAsync();
}

/// <summary>
/// A test subscriber that records what it was handed. While <see cref="FailWhile"/> returns true every call throws
/// (after being counted), to show retries.
/// </summary>
public sealed class RecordingSubscriber(string name, IReadOnlySet<string>? handles = null) : IEventSubscriber
{
    public IReadOnlySet<string>? Handles => handles;

    private readonly ConcurrentQueue<StoredEvent> handled = new();
    private readonly ConcurrentQueue<int> batchSizes = new();
    private int calls;

    public string Name => name;
    public Func<bool> FailWhile { get; set; } = () => false;
    public int Calls => Volatile.Read(ref calls);
    public IReadOnlyList<StoredEvent> Handled => [.. handled];
    public IReadOnlyList<int> BatchSizes => [.. batchSizes];

    public Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct)
    {
        Interlocked.Increment(ref calls);
        if (FailWhile()) throw new InvalidOperationException($"{name} refuses on purpose");
        batchSizes.Enqueue(events.Count);
        foreach (var e in events) handled.Enqueue(e);
        return Task.CompletedTask;
    }

    public Task UntilHandledAsync(int count, int timeoutMs = 20_000) =>
        Poll.UntilAsync(() => Task.FromResult(handled.Count >= count), $"{name} to handle {count} events (has {handled.Count})", timeoutMs);
}

public static class SampleEvents
{
    private static long counter;

    public static long NowUs => TimeProviderExtensions.GetUnixMicroseconds(TimeProvider.System);

    /// <summary>A transfer event with a fresh id and an amount that tells them apart.</summary>
    public static TransferCompleted Transfer(long? occurredAtUs = null)
    {
        var n = Interlocked.Increment(ref counter);
        return new TransferCompleted(Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7(), n, "CNY")
        {
            EventId = Guid.CreateVersion7(),
            OccurredAtUs = occurredAtUs ?? NowUs,
        };
    }

    public static TransferCompleted[] Transfers(int count, long? occurredAtUs = null) =>
        [.. Enumerable.Range(0, count).Select(_ => Transfer(occurredAtUs))];
}
