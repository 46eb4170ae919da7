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

    /// <summary>A batch being applied, with the accounts and guard keys it names (read by the loop only).</summary>
    private sealed record InFlight(Task Task, HashSet<Guid> Accounts, HashSet<string> Guards);

    private async Task RunAsync()
    {
        var reader = queue.Reader;
        var running = new List<InFlight>();
        // Commands taken from the queue that name an account (or guard key) of a batch in flight, oldest first. They go in a
        // later batch, so the next batch does not queue behind the one in flight on a row lock (issue 13: with two batches in
        // flight and uniform accounts, nearly every second batch waited for the first one's commit, so they did not overlap).
        // A performance measure only: row locks in id order, taken in the database, stay what keeps concurrent batches and
        // several server processes correct (a command whose accounts are unknown here, a post or void of a pending transfer
        // naming none, is never held back and simply waits on the lock there). Bounded by BatchSizeMax: the queue is not read
        // further while that many are held back, so the queue's back-pressure still holds.
        var deferred = new List<LedgerCommand>();
        try
        {
            while (true)
            {
                if (deferred.Count == 0 && !await reader.WaitToReadAsync(stopping.Token)) break;
                // A batch is formed only when a slot is free, so it takes everything that queued meanwhile.
                await inFlight.WaitAsync(stopping.Token);
                running.RemoveAll(b => b.Task.IsCompleted);
                var batch = new List<LedgerCommand>();
                var accounts = new HashSet<Guid>();
                var guarded = new HashSet<string>(StringComparer.Ordinal);
                var size = Fill(reader, running, deferred, batch, accounts, guarded, 0);
                size = TakeHeldBackIfMost(running, deferred, batch, accounts, guarded, size);
                if (batch.Count == 0)
                {
                    // Everything waiting names an account of a batch in flight (so one is running): wait for one to end.
                    Invariant.That(running.Count > 0, "a command is held back only behind a batch in flight");
                    inFlight.Release();
                    await Task.WhenAny(running.Select(b => b.Task));
                    continue;
                }
                if (options.BatchWindowUs > 0 && size < options.BatchSizeMax)
                {
                    // Linger for more commands, waiting on the queue rather than spinning (a spin burns a core for the window).
                    var deadline = Stopwatch.GetTimestamp() + options.BatchWindowUs * Stopwatch.Frequency / 1_000_000;
                    using var window = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
                    window.CancelAfter(TimeSpan.FromMicroseconds(options.BatchWindowUs));
                    while (size < options.BatchSizeMax && deferred.Count < options.BatchSizeMax && Stopwatch.GetTimestamp() < deadline)
                    {
                        try
                        {
                            if (!await reader.WaitToReadAsync(window.Token)) break;
                        }
                        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                        {
                            break;
                        }
                        size = Fill(reader, running, deferred, batch, accounts, guarded, size);
                    }
                }
                else if (options.DeepQueueWindowUs > 0 && size + deferred.Count >= options.DeepQueueBatchMin && size < options.BatchSizeMax
                         && running.Exists(b => !b.Task.IsCompleted))
                {
                    size = await LingerWhileDeepAsync(reader, running, deferred, batch, accounts, guarded, size);
                }
                size = TakeHeldBackIfMost(running, deferred, batch, accounts, guarded, size);
                // Only a batch the store may read lock-free waits here (see ExecuteAsync); one that checks a guard (anything but an
                // idempotency key assumed free) locks its rows and so waits in the database, after its early guards (checked
                // before the account locks) have run meanwhile.
                List<Task>? before = null;
                if (store.MayReadLockFree(batch, FirstAttemptAssumesNewIds))
                    foreach (var b in running)
                        if (!b.Task.IsCompleted && b.Accounts.Overlaps(accounts)) (before ??= []).Add(b.Task);
                var task = ExecuteAsync(batch, before);
                running.Add(new InFlight(task, accounts, guarded));
                // Released once the task has completed, so the loop, woken by the slot, sees it completed and its accounts free.
                _ = task.ContinueWith(static (_, slots) => ((SemaphoreSlim)slots!).Release(), inFlight, CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        await Task.WhenAll(running.Select(b => b.Task));
        // Nothing enqueued may be left hanging: fail what is still queued at shutdown.
        foreach (var left in deferred) left.Completion.TrySetException(new ObjectDisposedException(nameof(LedgerExecutor)));
        while (reader.TryRead(out var left)) left.Completion.TrySetException(new ObjectDisposedException(nameof(LedgerExecutor)));
    }

    /// <summary>
    /// Lingers up to <see cref="LedgerExecutorOptions.DeepQueueWindowUs"/> for more commands (the batch and the held-back
    /// commands already hold <see cref="LedgerExecutorOptions.DeepQueueBatchMin"/>, and another batch is committing): the
    /// callers are many and the database busy, and one larger batch costs the database and this process less per transfer
    /// than two smaller ones (BENCHMARKS.md session 7: ending the linger when the batch in flight commits kept the batches
    /// small and saved less). Only a performance measure: what goes into a batch, and in which order, follows the same
    /// rules as without it; a lone request never lingers.
    /// </summary>
    private async Task<int> LingerWhileDeepAsync(ChannelReader<LedgerCommand> reader, List<InFlight> running, List<LedgerCommand> deferred,
        List<LedgerCommand> batch, HashSet<Guid> accounts, HashSet<string> guarded, int size)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        window.CancelAfter(TimeSpan.FromMicroseconds(options.DeepQueueWindowUs));
        try
        {
            while (size < options.BatchSizeMax && deferred.Count < options.BatchSizeMax)
            {
                if (!await reader.WaitToReadAsync(window.Token)) break;
                size = Fill(reader, running, deferred, batch, accounts, guarded, size);
            }
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            // The window ended.
        }
        // Held-back commands that a batch committed meanwhile freed join now.
        return Fill(reader, running, deferred, batch, accounts, guarded, size);
    }

    /// <summary>
    /// Moves into <paramref name="batch"/> the held-back commands that are free now, oldest first, then what the queue holds.
    /// A command waits (joins <paramref name="deferred"/>) when it names an account or guard key of a batch in flight or of an
    /// older command still waiting (so commands on one account keep their order and none starves), or a guard key already in
    /// this batch (a guard must see the committed effects of earlier commands with its key).
    /// </summary>
    /// <param name="accounts">The accounts of the commands already in <paramref name="batch"/>.</param>
    /// <param name="guarded">The guard keys of the commands already in <paramref name="batch"/> (one set lookup per command, not a scan).</param>
    private int Fill(ChannelReader<LedgerCommand> reader, List<InFlight> running, List<LedgerCommand> deferred, List<LedgerCommand> batch,
        HashSet<Guid> accounts, HashSet<string> guarded, int size)
    {
        HashSet<Guid>? waitingAccounts = null;
        HashSet<string>? waitingGuards = null;
        var kept = 0;
        for (var i = 0; i < deferred.Count; i++)
        {
            var next = deferred[i];
            if ((batch.Count > 0 && size + next.Transfers.Count > options.BatchSizeMax) || MustWait(next, running, waitingAccounts, waitingGuards, guarded))
            {
                deferred[kept++] = next;
                Hold(next, ref waitingAccounts, ref waitingGuards);
                continue;
            }
            size = Take(next, batch, accounts, guarded, size);
        }
        deferred.RemoveRange(kept, deferred.Count - kept);
        while (deferred.Count < options.BatchSizeMax && reader.TryPeek(out var next) && (batch.Count == 0 || size + next.Transfers.Count <= options.BatchSizeMax))
        {
            Invariant.That(reader.TryRead(out var taken) && ReferenceEquals(taken, next), "the single reader takes what it peeked");
            if (MustWait(next, running, waitingAccounts, waitingGuards, guarded))
            {
                deferred.Add(next);
                Hold(next, ref waitingAccounts, ref waitingGuards);
                continue;
            }
            size = Take(next, batch, accounts, guarded, size);
        }
        return size;
    }

    /// <summary>
    /// When more commands are held back than the batch holds (one hot account most commands name, e.g. the merchant that 90 %
    /// of payments credit), takes the held-back ones anyway, oldest first, as far as only accounts in flight held them back:
    /// holding them back then only delays them, since the next batch serialises on that account either way, and a batch that
    /// already waits on the row lock starts the moment the one in flight commits instead of one executor turn later. Guard keys
    /// still hold a command back, as in <see cref="Fill"/>.
    /// </summary>
    private int TakeHeldBackIfMost(List<InFlight> running, List<LedgerCommand> deferred, List<LedgerCommand> batch, HashSet<Guid> accounts,
        HashSet<string> guarded, int size)
    {
        if (deferred.Count <= batch.Count) return size;
        HashSet<Guid>? waitingAccounts = null;
        HashSet<string>? waitingGuards = null;
        var kept = 0;
        for (var i = 0; i < deferred.Count; i++)
        {
            var next = deferred[i];
            if ((batch.Count > 0 && size + next.Transfers.Count > options.BatchSizeMax)
                || MustWait(next, running, waitingAccounts, waitingGuards, guarded, accountsInFlightToo: false))
            {
                deferred[kept++] = next;
                Hold(next, ref waitingAccounts, ref waitingGuards);
                continue;
            }
            size = Take(next, batch, accounts, guarded, size);
        }
        deferred.RemoveRange(kept, deferred.Count - kept);
        return size;
    }

    private static int Take(LedgerCommand command, List<LedgerCommand> batch, HashSet<Guid> accounts, HashSet<string> guarded, int size)
    {
        batch.Add(command);
        foreach (var t in command.Transfers)
        {
            if (!t.DebitAccountId.IsZero) accounts.Add(t.DebitAccountId.Value);
            if (!t.CreditAccountId.IsZero) accounts.Add(t.CreditAccountId.Value);
        }
        if (command.Guard is { } guard) GuardKeys.AddTo(guard, guarded);
        return size + command.Transfers.Count;
    }

    private static void Hold(LedgerCommand command, ref HashSet<Guid>? accounts, ref HashSet<string>? guards)
    {
        accounts ??= [];
        foreach (var t in command.Transfers)
        {
            if (!t.DebitAccountId.IsZero) accounts.Add(t.DebitAccountId.Value);
            if (!t.CreditAccountId.IsZero) accounts.Add(t.CreditAccountId.Value);
        }
        if (command.Guard is { } guard) GuardKeys.AddTo(guard, guards ??= new HashSet<string>(StringComparer.Ordinal));
    }

    private static readonly List<InFlight> NoBatches = [];

    /// <param name="accountsInFlightToo">Whether an account of a batch in flight holds the command back (guard keys always do).</param>
    private static bool MustWait(LedgerCommand command, List<InFlight> running, HashSet<Guid>? waitingAccounts, HashSet<string>? waitingGuards,
        HashSet<string> guarded, bool accountsInFlightToo = true)
    {
        if (command.Guard is { } guard)
        {
            if (GuardKeys.AnyIn(guard, guarded) || (waitingGuards is not null && GuardKeys.AnyIn(guard, waitingGuards))) return true;
            foreach (var b in running)
                if (!b.Task.IsCompleted && GuardKeys.AnyIn(guard, b.Guards)) return true;
        }
        var busy = accountsInFlightToo ? running : NoBatches;
        foreach (var t in command.Transfers)
        {
            if (Busy(t.DebitAccountId, busy, waitingAccounts) || Busy(t.CreditAccountId, busy, waitingAccounts)) return true;
        }
        return false;
    }

    private static bool Busy(AccountId account, List<InFlight> running, HashSet<Guid>? waitingAccounts)
    {
        if (account.IsZero) return false;
        if (waitingAccounts is not null && waitingAccounts.Contains(account.Value)) return true;
        foreach (var b in running)
            if (!b.Task.IsCompleted && b.Accounts.Contains(account.Value)) return true;
        return false;
    }

    /// <param name="before">
    /// Batches in flight that share an account with this one (TakeHeldBackIfMost took them): this one starts when they end.
    /// The store reads accounts without locking them (lock-free, see LedgerStore.ApplyBatchAsync), so a batch that queued on
    /// a row lock in the database would no longer wait there: it would read the old row, and fail its write, or make the batch
    /// in flight fail its own. A performance measure only; correctness across processes stays the store's row-version check.
    /// </param>
    private async Task ExecuteAsync(List<LedgerCommand> batch, List<Task>? before = null)
    {
        var waitStarted = Stopwatch.GetTimestamp();
        if (before is not null)
        {
            try
            {
                await Task.WhenAll(before);
            }
            catch (Exception)
            {
                // Not expected (ExecuteAsync completes its commands with an error instead of faulting); this batch runs anyway.
            }
        }
        if (before is not null) store.Phases.Add(LedgerPhase.WaitForOverlapping, waitStarted);
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

    /// <summary>A first attempt assumes new ids only when a second one can read them (see ApplyBatchAsync's assumeNewIds).</summary>
    private bool FirstAttemptAssumesNewIds => options.AttemptsMax > 1;

    private async Task<TransferResult[][]> ApplyWithRetryAsync(List<LedgerCommand> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // First as if every id were new (no read of them); after any failure, reading them, so a replayed id gets its
                // stored result (see ApplyBatchAsync's assumeNewIds).
                // Lock-free first too; after a transient error (a deadlock, a concurrent duplicate id) with the accounts locked.
                return await store.ApplyBatchAsync(batch, clock.GetUnixMicroseconds(), stopping.Token, assumeNewIds: attempt == 1 && FirstAttemptAssumesNewIds,
                    lockFree: attempt == 1);
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
