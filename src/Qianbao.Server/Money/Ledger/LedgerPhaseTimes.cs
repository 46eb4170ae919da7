using System.Diagnostics;

namespace Qianbao.Server.Money.Ledger;

/// <summary>The steps of one batch attempt, in order (issue 13: where a batch's time goes).</summary>
public enum LedgerPhase
{
    /// <summary>In the executor: waiting for batches in flight that share an account with this one.</summary>
    WaitForOverlapping,

    /// <summary>Taking a connection and beginning the transaction.</summary>
    Open,

    /// <summary>Guards checked and accounts read (or locked), with the transfers the batch names.</summary>
    Read,

    /// <summary>Policies and the ledger's rules applied in memory; responses and effects built.</summary>
    Decide,

    /// <summary>Accounts, transfers, responses and effects written (up to the commit).</summary>
    Write,

    /// <summary>The commit: on PostgreSQL the WAL flush.</summary>
    Commit,
}

/// <summary>
/// Time spent per <see cref="LedgerPhase"/>, summed over every batch attempt since start (a few timestamps and interlocked
/// adds per batch, never per transfer, so it is always on). Read by the benchmarks, which print the mean per batch.
/// </summary>
public sealed class LedgerPhaseTimes
{
    private readonly long[] ticks = new long[Enum.GetValues<LedgerPhase>().Length];
    private long attempts;
    private long staleReads;
    private long lockFreeAttempts;

    public void Add(LedgerPhase phase, long startedAtTicks) => Interlocked.Add(ref ticks[(int)phase], Stopwatch.GetTimestamp() - startedAtTicks);

    public void AttemptStarted(bool lockFree)
    {
        Interlocked.Increment(ref attempts);
        if (lockFree) Interlocked.Increment(ref lockFreeAttempts);
    }

    /// <summary>A lock-free attempt found an account changed since it was read (it is decided again with the rows locked).</summary>
    public void StaleRead() => Interlocked.Increment(ref staleReads);

    public Snapshot Take()
    {
        var now = new long[ticks.Length];
        for (var i = 0; i < now.Length; i++) now[i] = Interlocked.Read(ref ticks[i]);
        return new(now, Interlocked.Read(ref attempts), Interlocked.Read(ref staleReads), Interlocked.Read(ref lockFreeAttempts));
    }

    /// <summary>Totals at one instant; subtract two to get a window's.</summary>
    /// <param name="LockFreeAttempts">Of <paramref name="Attempts"/>, those that read their accounts without locking them.</param>
    public sealed record Snapshot(long[] Ticks, long Attempts, long StaleReads, long LockFreeAttempts)
    {
        public Snapshot Minus(Snapshot earlier) =>
            new([.. Ticks.Select((t, i) => t - earlier.Ticks[i])], Attempts - earlier.Attempts, StaleReads - earlier.StaleReads,
                LockFreeAttempts - earlier.LockFreeAttempts);

        /// <summary>Mean milliseconds per attempt of each phase, e.g. "read=0.31 decide=0.40 …".</summary>
        public string MeanMsPerAttempt() => string.Join(' ', Enum.GetValues<LedgerPhase>().Select(p =>
            $"{p.ToString().ToLowerInvariant()}={Ticks[(int)p] * 1000.0 / Stopwatch.Frequency / Math.Max(1, Attempts):0.00}"));
    }
}
