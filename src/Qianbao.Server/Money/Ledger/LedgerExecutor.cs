using System.Diagnostics;
using System.Threading.Channels;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Money.Ledger;

/// <summary>
/// The one door to the ledger for money movement. Concurrent callers enqueue commands into a bounded
/// queue; a single loop coalesces them into batches (up to <see cref="LedgerExecutorOptions.BatchSizeMax"/>
/// transfers) and applies each batch in one durable transaction. A caller's task completes only after
/// its batch has committed, so an acknowledged transfer survives a crash. One failing transfer never
/// fails its neighbours (the engine gives each request its own result); only a linked chain fails whole.
/// </summary>
public sealed class LedgerExecutor : IAsyncDisposable
{
    private readonly LedgerStore store;
    private readonly TimeProvider clock;
    private readonly ILogger<LedgerExecutor> logger;
    private readonly LedgerExecutorOptions options;
    private readonly Channel<LedgerCommand> queue;
    private readonly CancellationTokenSource stopping = new();
    private readonly SemaphoreSlim inFlight;
    private readonly Task loop;
    private long batches;
    private long transfers;

    public LedgerExecutor(LedgerStore store, TimeProvider clock, ILogger<LedgerExecutor> logger, LedgerExecutorOptions options)
    {
        options.Validate();
        this.store = store;
        this.clock = clock;
        this.logger = logger;
        this.options = options;
        inFlight = new SemaphoreSlim(store.SupportsConcurrentBatches ? options.BatchesInFlightMax : 1);
        queue = Channel.CreateBounded<LedgerCommand>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        loop = Task.Run(RunAsync);
    }

    public LedgerStore Store => store;

    /// <summary>Batches committed and transfers applied since start (for benchmarks and diagnostics).</summary>
    public (long Batches, long Transfers) Stats => (Interlocked.Read(ref batches), Interlocked.Read(ref transfers));

    /// <summary>
    /// Enqueues <paramref name="command"/> and returns its results once durable. Cancellation only stops
    /// waiting for a queue slot: an enqueued command is applied whatever the caller does next.
    /// </summary>
    public async Task<TransferResult[]> SubmitAsync(LedgerCommand command, CancellationToken ct = default)
    {
        command.EnqueuedAtTicks = Stopwatch.GetTimestamp();
        await queue.Writer.WriteAsync(command, ct);
        return await command.Completion.Task;
    }

    /// <summary>Submits one transfer and returns its result.</summary>
    public async Task<TransferResult> SubmitAsync(Transfer transfer, CancellationToken ct = default) =>
        (await SubmitAsync(new LedgerCommand([transfer]), ct))[0];

    private async Task RunAsync()
    {
        var reader = queue.Reader;
        var running = new List<Task>();
        try
        {
            while (await reader.WaitToReadAsync(stopping.Token))
            {
                // A batch is formed only when a slot is free, so it takes everything that queued meanwhile.
                await inFlight.WaitAsync(stopping.Token);
                var batch = new List<LedgerCommand>();
                var guarded = new HashSet<string>(StringComparer.Ordinal);
                var size = Fill(reader, batch, guarded, 0);
                if (options.BatchWindowUs > 0 && size < options.BatchSizeMax)
                {
                    var deadline = Stopwatch.GetTimestamp() + options.BatchWindowUs * Stopwatch.Frequency / 1_000_000;
                    while (size < options.BatchSizeMax && Stopwatch.GetTimestamp() < deadline)
                    {
                        await Task.Yield();
                        size = Fill(reader, batch, guarded, size);
                    }
                }
                running.RemoveAll(t => t.IsCompleted);
                running.Add(ExecuteAndReleaseAsync(batch));
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        await Task.WhenAll(running);
        // Nothing enqueued may be left hanging: fail what is still queued at shutdown.
        while (reader.TryRead(out var left)) left.Completion.TrySetException(new ObjectDisposedException(nameof(LedgerExecutor)));
    }

    private async Task ExecuteAndReleaseAsync(List<LedgerCommand> batch)
    {
        try
        {
            await ExecuteAsync(batch);
        }
        finally
        {
            inFlight.Release();
        }
    }

    /// <param name="guarded">The guard keys of the commands already in <paramref name="batch"/> (one set lookup per command, not a scan).</param>
    private int Fill(ChannelReader<LedgerCommand> reader, List<LedgerCommand> batch, HashSet<string> guarded, int size)
    {
        while (reader.TryPeek(out var next) && (batch.Count == 0 || size + next.Transfers.Count <= options.BatchSizeMax))
        {
            // A guard must see the committed effects of earlier commands with its key: such a command waits for the next batch.
            if (next.Guard is { } guard && GuardKeys.AnyIn(guard, guarded)) break;
            Invariant.That(reader.TryRead(out var taken) && ReferenceEquals(taken, next), "the single reader takes what it peeked");
            batch.Add(next);
            if (next.Guard is { } added) GuardKeys.AddTo(added, guarded);
            size += next.Transfers.Count;
        }
        return size;
    }

    private async Task ExecuteAsync(List<LedgerCommand> batch)
    {
        try
        {
            var results = await ApplyWithRetryAsync(batch);
            Interlocked.Increment(ref batches);
            Interlocked.Add(ref transfers, batch.Sum(c => c.Transfers.Count));
            for (var i = 0; i < batch.Count; i++) batch[i].Completion.TrySetResult(results[i]);
        }
        catch (Exception ex) when (batch.Count > 1)
        {
            // A batch failed for a reason that is not transient. Apply each command alone, so that the
            // one that triggers the failure fails by itself and its neighbours still go through.
            logger.LogError(ex, "Ledger batch of {Commands} commands failed; applying them one by one", batch.Count);
            foreach (var command in batch) await ExecuteAsync([command]);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Ledger command failed");
            batch[0].Completion.TrySetException(ex);
        }
    }

    private async Task<TransferResult[][]> ApplyWithRetryAsync(List<LedgerCommand> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await store.ApplyBatchAsync(batch, clock.GetUnixMicroseconds(), stopping.Token);
            }
            catch (Exception ex) when (attempt < options.AttemptsMax && store.IsTransient(ex))
            {
                logger.LogWarning("Ledger batch hit a transient database error ({Error}); attempt {Attempt}", ex.Message, attempt);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        // Let the loop drain what was enqueued before stopping it.
        try
        {
            await loop.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            logger.LogError("Ledger executor did not drain its queue within 30 s of shutdown");
        }
        await stopping.CancelAsync();
        stopping.Dispose();
        inFlight.Dispose();
    }
}
