using System.Diagnostics;

namespace Qianbao.Server.Money.Events;

/// <summary>
/// One read of the event log shared by the subscriber loops a nudge woke together: every nudge wakes each of about a
/// dozen loops, which would otherwise each read (and parse) the same events after the same checkpoint. A loop asks
/// with its checkpoint and the moment it was woken; a read (finished or still running) that started no earlier than
/// that moment and covers the checkpoint answers it, otherwise the loop reads itself and offers its read to the others.
/// </summary>
/// <remarks>
/// Why an answer from another loop's read is what the loop's own read would have been: <see cref="EventLog.ReadAsync"/>
/// returns, after position A, every committed event up to the last one returned (and, when it returned fewer than the
/// limit, every event below its snapshot bound): a complete segment of the delivery order. For a checkpoint C ≥ A its
/// events after C are therefore every event between C and the segment's end, in order, so the checkpoint moved to the
/// end of what is handed over skips nothing. A read that started after the loop was woken sees every commit the waking
/// nudge announced, so it is as fresh as the loop's own. Checkpoints, leases and handling stay per subscriber and
/// durable as before: only the read is shared, and only within this process.
/// Bound: at most <see cref="KeptMax"/> reads of at most <c>BatchSizeMax</c> events each are kept, none older than
/// <see cref="KeptForMs"/>.
/// </remarks>
internal sealed class EventReadShare
{
    internal const int KeptMax = 8;
    internal const int KeptForMs = 1_000;

    private readonly Lock gate = new();
    private readonly List<Read> reads = [];
    private readonly int limit;

    public EventReadShare(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        this.limit = limit;
    }

    /// <summary>Reads shared (answered from another loop's read), for tests and the bench.</summary>
    public long SharedCount => Interlocked.Read(ref shared);
    private long shared;

    /// <summary>
    /// Events after <paramref name="after"/> (at most the limit), from a read started at or after
    /// <paramref name="wokenAtTicks"/> (<see cref="Stopwatch.GetTimestamp"/>), and whether more may follow them.
    /// </summary>
    public async Task<(IReadOnlyList<StoredEvent> Events, bool Full)> ReadAsync(EventPosition after, long wokenAtTicks,
        Func<EventPosition, int, CancellationToken, Task<IReadOnlyList<StoredEvent>>> read, CancellationToken ct)
    {
        List<Read>? candidates = null;
        lock (gate)
        {
            var now = Stopwatch.GetTimestamp();
            reads.RemoveAll(r => Stopwatch.GetElapsedTime(r.StartedAtTicks, now).TotalMilliseconds > KeptForMs);
            // Newest first: reads that started after the wake-up and begin at or before the checkpoint.
            for (var i = reads.Count - 1; i >= 0; i--)
            {
                var r = reads[i];
                if (r.StartedAtTicks >= wokenAtTicks && r.After.CompareTo(after) <= 0) (candidates ??= []).Add(r);
            }
        }
        foreach (var candidate in candidates ?? [])
        {
            IReadOnlyList<StoredEvent>? events = null;
            try
            {
                events = await candidate.Events.WaitAsync(ct);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // That loop's read failed; try another or read ourselves below.
            }
            if (events is not null && Slice(events, candidate.After, after) is { } answer)
            {
                Interlocked.Increment(ref shared);
                return answer;
            }
        }

        var mine = new Read(after, Stopwatch.GetTimestamp(), new TaskCompletionSource<IReadOnlyList<StoredEvent>>(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (gate)
        {
            reads.Add(mine);
            if (reads.Count > KeptMax) reads.RemoveAt(0);
        }
        try
        {
            var events = await read(after, limit, ct);
            mine.Source.TrySetResult(events);
            return (events, events.Count >= limit);
        }
        catch (Exception ex)
        {
            mine.Source.TrySetException(ex);
            lock (gate) reads.Remove(mine);
            throw;
        }
    }

    /// <summary>The part of a read from <paramref name="from"/> that follows <paramref name="after"/>, or null when the read cannot tell.</summary>
    private (IReadOnlyList<StoredEvent> Events, bool Full)? Slice(IReadOnlyList<StoredEvent> events, EventPosition from, EventPosition after)
    {
        var full = events.Count >= limit;
        if (from.CompareTo(after) == 0) return (events, full);
        // Events are in position order: skip those at or before the checkpoint.
        var lo = 0;
        var hi = events.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (events[mid].Position.CompareTo(after) <= 0) lo = mid + 1;
            else hi = mid;
        }
        if (lo == events.Count)
        {
            // Nothing after the checkpoint in this read: a complete read (below the limit) says there is nothing yet;
            // a full one only says nothing up to its end.
            return full ? null : ([], false);
        }
        var rest = new StoredEvent[events.Count - lo];
        for (var i = 0; i < rest.Length; i++) rest[i] = events[lo + i];
        // Fewer than the limit, but the read may have stopped at it: let the loop read on at once.
        return (rest, full);
    }

    private sealed record Read(EventPosition After, long StartedAtTicks, TaskCompletionSource<IReadOnlyList<StoredEvent>> Source)
    {
        public Task<IReadOnlyList<StoredEvent>> Events => Source.Task;
    }
}
