using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Npgsql;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money.Events;

/// <summary>
/// Delivers domain events to every registered <see cref="IEventSubscriber"/>, each in a loop of its own so one that
/// fails or lags holds back no other. A loop takes its subscriber's lease (one server process at a time runs a
/// subscriber; another takes over once a dead holder's lease lapses), reads up to <c>BatchSizeMax</c> events after
/// the checkpoint, hands them over and moves the checkpoint past them only when the handler returned: delivery is at
/// least once. A failed batch is retried, from the same checkpoint, after pauses doubling from
/// <c>PollIntervalMs</c> to <c>RetryDelayMaxMs</c>. The runner also purges events older than <c>RetentionDays</c>
/// and, on PostgreSQL with <c>ListenNotify</c>, carries <see cref="EventSignal"/> nudges between processes.
/// </summary>
public sealed partial class EventRunner : BackgroundService
{
    /// <summary>The LISTEN/NOTIFY channel name on PostgreSQL.</summary>
    public const string NotifyChannel = "qianbao_events";

    /// <summary>Least time between two NOTIFYs from this process: nudges in between are sent as one.</summary>
    private static readonly TimeSpan NotifyGap = TimeSpan.FromMilliseconds(20);

    /// <summary>Longest wait on the LISTEN connection before checking it is still alive.</summary>
    private static readonly TimeSpan ListenProbeInterval = TimeSpan.FromSeconds(30);

    /// <summary>Longest a lease release may take at shutdown.</summary>
    private static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(5);

    private readonly Db db;
    private readonly IReadOnlyList<IEventSubscriber> subscribers;
    private readonly EventSignal signal;
    private readonly EventOptions options;
    private readonly TimeProvider clock;
    private readonly ILogger<EventRunner> logger;
    private readonly EventSubscriptions subscriptions;
    private readonly TimeSpan poll;
    private readonly TimeSpan handlerTimeout;
    private readonly EventReadShare reads;

    public EventRunner(Db db, IEnumerable<IEventSubscriber> subscribers, EventSignal signal, EventOptions options, TimeProvider clock,
        ILogger<EventRunner> logger)
    {
        var problems = options.Problems();
        if (problems.Count > 0) throw new InvalidOperationException(string.Join(" ", problems));
        this.subscribers = [.. subscribers];
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in this.subscribers)
        {
            if (s.Name is null || !NamePattern().IsMatch(s.Name))
                throw new InvalidOperationException($"event subscriber {s.GetType().Name} has the name \"{s.Name}\"; names are 1..64 of a-z 0-9 _ . -");
            if (!names.Add(s.Name)) throw new InvalidOperationException($"two event subscribers are named \"{s.Name}\"");
        }

        this.db = db;
        this.signal = signal;
        this.options = options;
        this.clock = clock;
        this.logger = logger;
        subscriptions = new EventSubscriptions(db);
        poll = TimeSpan.FromMilliseconds(options.PollIntervalMs);
        reads = new EventReadShare(options.BatchSizeMax);
        // The handler must be done, and the checkpoint written, before the lease lapses and another process starts
        // the same batch: keep a fifth of the lease (at most 5 s) for the write.
        handlerTimeout = TimeSpan.FromMilliseconds(options.LeaseMs - Math.Min(options.LeaseMs / 5, 5_000));
        Owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    }

    /// <summary>This runner's lease owner name: host, process id and a random part, unique per start.</summary>
    public string Owner { get; }

    /// <summary>How many subscriber reads were answered by another loop's read of the same events (see <see cref="EventReadShare"/>).</summary>
    internal long SharedReads => reads.SharedCount;

    /// <summary>The subscribers this runner delivers to.</summary>
    public IReadOnlyList<IEventSubscriber> Subscribers => subscribers;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Leave the host's start-up path before touching the database.
        await Task.Yield();
        var loops = new List<Task> { PurgeLoopAsync(stoppingToken) };
        loops.AddRange(subscribers.Select(s => SubscriberLoopAsync(s, signal.Register(), stoppingToken)));
        if (db.Engine == DatabaseEngine.Postgres && options.ListenNotify)
        {
            loops.Add(NotifyLoopAsync(stoppingToken));
            if (subscribers.Count > 0) loops.Add(ListenLoopAsync(stoppingToken));
        }
        await Task.WhenAll(loops);
    }

    private enum PassOutcome { NotHolder, Idle, Handled, PassedOver, Full, Failed }

    /// <summary>
    /// After a nudge, how long a subscriber waits before reading, so that a burst of commits (every transfer nudges) is
    /// read in one pass rather than one pass per commit.
    /// </summary>
    internal const int NudgeCoalesceMs = 10;

    /// <summary>
    /// The same wait for a loop whose last pass found only events of no interest to it (a subscriber of payments while
    /// transfers stream by): every commit nudges all loops (about a dozen), and such a loop would otherwise wake, read and
    /// pass over a few events every 10 ms. Its events are delivered at most this much later; its checkpoint and the
    /// delivery guarantees are unchanged (a pass still reads everything after the checkpoint).
    /// </summary>
    internal const int PassedOverCoalesceMs = 100;

    /// <summary>
    /// The lease this process holds for one subscriber, as it last wrote it. While more than half of it is left, a pass
    /// reads with this checkpoint without renewing (no write per pass); no other process can take the subscriber
    /// before <see cref="UntilUs"/>, and every checkpoint write still requires the lease in the database.
    /// </summary>
    private sealed class HeldLease
    {
        public EventPosition Checkpoint;
        public int Failures;
        public long UntilUs;

        /// <summary>Whether <see cref="Checkpoint"/> is ahead of the stored one (it passed over events of no interest).</summary>
        public bool Unsaved;
        public long SavedAtUs;

        /// <summary>
        /// The log's last event when this process took the lease (without holding it just before): a holder that did not
        /// commit its checkpoint with its effects may have handled events up to it, so batches up to it may repeat.
        /// </summary>
        public EventPosition? RepeatThrough;
    }

    /// <summary>One subscriber loop's lease as this process holds it, or none.</summary>
    private sealed class LeaseSlot
    {
        public HeldLease? Held;
    }

    /// <summary>How often a checkpoint that only passed over events of no interest is written: a crash repeats at most that much skipping.</summary>
    internal const int SkippedCheckpointSaveMs = 1_000;

    private async Task SubscriberLoopAsync(IEventSubscriber subscriber, ChannelReader<byte> wake, CancellationToken stop)
    {
        var ensured = false;
        var held = new LeaseSlot();
        // When this loop was last woken: a shared read must have started after it to be as fresh as its own.
        var wokenAt = Stopwatch.GetTimestamp();
        var passedOver = false;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var pause = poll;
                var wakeable = true;
                passedOver = false;
                try
                {
                    if (!ensured)
                    {
                        // A new subscriber's row starts at EventPosition.Start: it replays every retained event.
                        await subscriptions.EnsureAsync(subscriber.Name, clock.GetUnixMicroseconds(), stop);
                        ensured = true;
                    }
                    var (outcome, failures) = await PassAsync(subscriber, held, wokenAt, stop);
                    if (outcome == PassOutcome.Full)
                    {
                        wokenAt = Stopwatch.GetTimestamp();
                        continue;
                    }
                    passedOver = outcome == PassOutcome.PassedOver;
                    if (outcome == PassOutcome.Failed)
                    {
                        pause = RetryDelay(failures);
                        wakeable = false;
                    }
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    logger.LogError(ex, "Event subscriber {Subscriber}: pass failed; trying again next interval", subscriber.Name);
                }
                var nudged = await WaitAsync(wake, pause, wakeable, stop);
                wokenAt = Stopwatch.GetTimestamp();
                if (nudged) await Task.Delay(passedOver ? PassedOverCoalesceMs : NudgeCoalesceMs, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await ReleaseAsync(subscriber.Name);
        }
    }

    /// <summary>One lease-read-handle-checkpoint round for <paramref name="subscriber"/>.</summary>
    private async Task<(PassOutcome Outcome, int Failures)> PassAsync(IEventSubscriber subscriber, LeaseSlot cache, long wokenAt, CancellationToken stop)
    {
        EventSubscriptions.Lease lease;
        var now = clock.GetUnixMicroseconds();
        var leaseUs = options.LeaseMs * 1_000L;
        // Whether effects of the next events may be stored without their checkpoint (see EventBatch.MayRepeat): not while
        // this process held the lease without a break and its last batch did not fail.
        if (cache.Held is { } kept && now < kept.UntilUs - leaseUs / 2)
        {
            lease = new EventSubscriptions.Lease(kept.Checkpoint, kept.Failures);
        }
        else
        {
            await using (var connection = await db.OpenAsync(stop))
            {
                var renewed = await subscriptions.TryLeaseAsync(connection, subscriber.Name, Owner, now, checked(now + leaseUs), stop);
                if (renewed is null)
                {
                    cache.Held = null;
                    return (PassOutcome.NotHolder, 0);
                }
                lease = renewed.Value;
                // Renewed before it lapsed: what this process passed over but has not written yet is still ours.
                var held = cache.Held is { } before && now < before.UntilUs;
                // Taken (not renewed): every event another holder can have handled is in the log by now.
                var repeatThrough = held ? cache.Held!.RepeatThrough : await EventLog.LastPositionAsync(connection, stop);
                var unsaved = cache.Held is { Unsaved: true } previous && now < previous.UntilUs && previous.Checkpoint.CompareTo(lease.Checkpoint) > 0;
                if (unsaved) lease = lease with { Checkpoint = cache.Held!.Checkpoint };
                cache.Held = new HeldLease
                {
                    Checkpoint = lease.Checkpoint, Failures = lease.Failures, UntilUs = now + leaseUs, SavedAtUs = now, Unsaved = unsaved,
                    RepeatThrough = repeatThrough,
                };
            }
        }
        var (events, full) = await reads.ReadAsync(lease.Checkpoint, wokenAt, ReadLogAsync, stop);
        if (events.Count == 0) return (PassOutcome.Idle, 0);
        var mayRepeat = lease.Failures > 0 || (cache.Held?.RepeatThrough is { } through && events[0].Position.CompareTo(through) <= 0);
        if (subscriber.Handles is { } wanted)
        {
            var relevant = events.Where(e => wanted.Contains(e.Type)).ToList();
            if (relevant.Count == 0) return await PassOverAsync(subscriber, cache, events[^1].Position, full, stop);
            if (relevant.Count < events.Count)
            {
                // Deliver what it wants; the checkpoint still moves to the end of what was read.
                var last = events[^1].Position;
                events = relevant;
                return await HandleAndAdvanceAsync(subscriber, cache, lease, events, last, full, mayRepeat, stop);
            }
        }
        return await HandleAndAdvanceAsync(subscriber, cache, lease, events, events[^1].Position, full, mayRepeat, stop);
    }

    private async Task<IReadOnlyList<StoredEvent>> ReadLogAsync(EventPosition after, int limit, CancellationToken stop)
    {
        await using var connection = await db.OpenAsync(stop);
        return await EventLog.ReadAsync(connection, after, limit, stop);
    }

    /// <summary>Moves the checkpoint over events the subscriber has no interest in: in memory, written at most once a second.</summary>
    private async Task<(PassOutcome Outcome, int Failures)> PassOverAsync(IEventSubscriber subscriber, LeaseSlot cache, EventPosition to, bool full,
        CancellationToken stop)
    {
        var now = clock.GetUnixMicroseconds();
        if (cache.Held is { } kept && now < kept.UntilUs)
        {
            kept.Checkpoint = to;
            kept.Unsaved = true;
            if (now - kept.SavedAtUs < SkippedCheckpointSaveMs * 1_000L) return (full ? PassOutcome.Full : PassOutcome.PassedOver, 0);
        }
        if (!await subscriptions.AdvanceAsync(subscriber.Name, Owner, to, 0, now, stop))
        {
            cache.Held = null;
            return (PassOutcome.NotHolder, 0);
        }
        if (cache.Held is { } saved)
        {
            saved.Unsaved = false;
            saved.SavedAtUs = now;
        }
        return (full ? PassOutcome.Full : PassOutcome.PassedOver, 0);
    }

    private async Task<(PassOutcome Outcome, int Failures)> HandleAndAdvanceAsync(IEventSubscriber subscriber, LeaseSlot cache,
        EventSubscriptions.Lease lease, IReadOnlyList<StoredEvent> events, EventPosition to, bool full, bool mayRepeat, CancellationToken stop)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
        deadline.CancelAfter(handlerTimeout);
        var batch = new EventBatch(events, mayRepeat, (connection, tx, ct) =>
            EventSubscriptions.AdvanceInAsync(connection, tx, subscriber.Name, Owner, to, events.Count, clock.GetUnixMicroseconds(), ct));
        try
        {
            // WaitAsync bounds even a handler that ignores its token; one abandoned that way may still finish later,
            // which idempotent handling absorbs like any other repeated delivery (and one that commits its checkpoint
            // with its effects finds the checkpoint moved and rolls back, see EventBatch).
            await subscriber.HandleAsync(batch, deadline.Token).WaitAsync(deadline.Token);
        }
        catch (EventCheckpointMovedException) when (!stop.IsCancellationRequested)
        {
            // Another process took the lease, or this batch was committed already (by a handler abandoned after a
            // timeout): its effects rolled back with the checkpoint write; read the lease and checkpoint again.
            cache.Held = null;
            logger.LogWarning("Event subscriber {Subscriber}: checkpoint moved or lease lost while handling {Count} events; reading it again",
                subscriber.Name, events.Count);
            return (PassOutcome.NotHolder, 0);
        }
        catch (Exception ex) when (!stop.IsCancellationRequested)
        {
            var failures = lease.Failures + 1;
            var why = deadline.IsCancellationRequested ? $"did not finish within {handlerTimeout.TotalMilliseconds:0} ms" : $"{ex.GetType().Name}: {ex.Message}";
            logger.LogWarning(ex, "Event subscriber {Subscriber} failed on {Count} events from {EventId} (failure {Failures}): {Why}; retrying in {Delay}",
                subscriber.Name, events.Count, events[0].EventId, failures, why, RetryDelay(failures));
            await subscriptions.RecordFailureAsync(subscriber.Name, Owner, why, clock.GetUnixMicroseconds(), stop);
            if (cache.Held is { } kept) kept.Failures = failures;
            return (PassOutcome.Failed, failures);
        }

        var advancedAtUs = clock.GetUnixMicroseconds();
        // Written with the handler's effects already (committed: the handler returned), or here after them.
        if (!batch.CheckpointWritten && !await subscriptions.AdvanceAsync(subscriber.Name, Owner, to, events.Count, advancedAtUs, stop))
        {
            cache.Held = null;
            // Another process took the lease while we handled the batch; it delivers the batch again (at least once).
            logger.LogWarning("Event subscriber {Subscriber} lost its lease while handling {Count} events; the new holder delivers them again",
                subscriber.Name, events.Count);
            return (PassOutcome.NotHolder, 0);
        }
        if (cache.Held is { } advanced)
        {
            advanced.Checkpoint = to;
            advanced.Failures = 0;
            advanced.Unsaved = false;
            advanced.SavedAtUs = advancedAtUs;
        }
        return (full ? PassOutcome.Full : PassOutcome.Handled, 0);
    }

    /// <summary>Pause after the <paramref name="failures"/>-th failure in a row: the poll interval doubled per failure, capped.</summary>
    internal TimeSpan RetryDelay(int failures)
    {
        var ms = (double)options.PollIntervalMs * Math.Pow(2, Math.Clamp(failures - 1, 0, 30));
        return TimeSpan.FromMilliseconds(Math.Min(ms, options.RetryDelayMaxMs));
    }

    /// <returns>True when a nudge ended the wait (rather than the pause).</returns>
    private async Task<bool> WaitAsync(ChannelReader<byte> wake, TimeSpan pause, bool wakeable, CancellationToken stop)
    {
        if (!wakeable)
        {
            await Task.Delay(pause, clock, stop);
            return false;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(pause);
        try
        {
            await wake.ReadAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            // The poll interval passed without a nudge.
            return false;
        }
    }

    private async Task ReleaseAsync(string name)
    {
        // Hand the subscriber over at once rather than after the lease lapses; best effort, the lease expires anyway.
        using var timeout = new CancellationTokenSource(ReleaseTimeout);
        try
        {
            await subscriptions.ReleaseAsync(name, Owner, clock.GetUnixMicroseconds(), timeout.Token);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Event subscriber {Subscriber}: could not release its lease; it lapses by itself", name);
        }
    }

    private async Task PurgeLoopAsync(CancellationToken stop)
    {
        var interval = TimeSpan.FromMilliseconds(options.PurgeIntervalMs);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var deleted = await PurgeAsync(stop);
                    if (deleted > 0) logger.LogInformation("Purged {Count} domain events older than {Days} days", deleted, options.RetentionDays);
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    logger.LogError(ex, "Domain event purge failed; trying again next interval");
                }
                await Task.Delay(interval, clock, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Deletes events that occurred more than <c>RetentionDays</c> ago. Returns how many.</summary>
    public Task<long> PurgeAsync(CancellationToken ct)
    {
        var cutoff = (clock.GetUtcNow() - TimeSpan.FromDays(options.RetentionDays)).ToUnixMicroseconds();
        return EventLog.PurgeAsync(db, cutoff, ct);
    }

    /// <summary>Sends one NOTIFY per burst of nudges, outside any money transaction (a NOTIFY inside one would serialize commits).</summary>
    private async Task NotifyLoopAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await signal.RemoteRequests.Reader.ReadAsync(stop);
                try
                {
                    await using var connection = await db.OpenAsync(stop);
                    await using var cmd = connection.CreateCommand();
                    // The payload names this process, so its own LISTEN does not wake its loops a second time: Nudge woke
                    // them already, before this NOTIFY was sent.
                    cmd.CommandText = $"SELECT pg_notify('{NotifyChannel}', @owner)";
                    var owner = cmd.CreateParameter();
                    owner.ParameterName = "owner";
                    owner.Value = Owner;
                    cmd.Parameters.Add(owner);
                    await cmd.ExecuteNonQueryAsync(stop);
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "Could not NOTIFY other server processes of new events; they find them at their next poll");
                }
                await Task.Delay(NotifyGap, clock, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Holds a LISTEN connection and wakes local subscribers on every NOTIFY; reconnects after a poll interval when it breaks.</summary>
    private async Task ListenLoopAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await using var connection = await db.OpenForListenAsync(stop);
                    connection.Notification += (_, e) =>
                    {
                        if (!string.Equals(e.Payload, Owner, StringComparison.Ordinal)) signal.WakeLocal();
                    };
                    await using (var listen = new NpgsqlCommand($"LISTEN {NotifyChannel}", connection)) await listen.ExecuteNonQueryAsync(stop);
                    // Anything committed while no LISTEN was in place is found by this one look.
                    signal.WakeLocal();
                    while (!stop.IsCancellationRequested)
                    {
                        if (await connection.WaitAsync(ListenProbeInterval, stop)) continue;
                        await using var probe = new NpgsqlCommand("SELECT 1", connection);
                        await probe.ExecuteScalarAsync(stop);
                    }
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "LISTEN {Channel} broke; subscribers poll until it is back", NotifyChannel);
                    await Task.Delay(poll, clock, stop);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [GeneratedRegex("^[a-z0-9_.-]{1,64}$")]
    private static partial Regex NamePattern();
}
