namespace Qianbao.Server.Money.Ledger;

/// <summary>Limits of the batching executor (configuration section <c>Qianbao:Ledger</c>).</summary>
public sealed class LedgerExecutorOptions
{
    /// <summary>Most transfers applied in one database transaction. 1..65536.</summary>
    public int BatchSizeMax { get; set; } = 4096;

    /// <summary>
    /// How long the executor lingers for more requests after the first one of a batch, in microseconds
    /// (0..100000). 0 means: take whatever is queued and go; requests that arrive during a commit form the
    /// next batch anyway, so lingering only helps when the database is faster than the callers.
    /// </summary>
    public int BatchWindowUs { get; set; }

    /// <summary>Most commands waiting for a batch; callers beyond it wait to enqueue (back-pressure). 1..1000000.</summary>
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>
    /// Batches in flight at once on PostgreSQL (1..16): while one waits for its commit to reach the disk, the next
    /// is read, applied and written. Row locks taken in a stable order keep concurrent batches correct, exactly as
    /// they do for several server processes. SQLite has one writer, so there it is always 1.
    /// </summary>
    public int BatchesInFlightMax { get; set; } = 2;

    /// <summary>Attempts for a batch that hits a transient database error (deadlock, concurrent insert). 1..20.</summary>
    public int AttemptsMax { get; set; } = 8;

    public void Validate()
    {
        if (BatchSizeMax is < 1 or > 65_536) throw new ArgumentOutOfRangeException(nameof(BatchSizeMax), BatchSizeMax, "1..65536");
        if (BatchWindowUs is < 0 or > 100_000) throw new ArgumentOutOfRangeException(nameof(BatchWindowUs), BatchWindowUs, "0..100000");
        if (QueueCapacity is < 1 or > 1_000_000) throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "1..1000000");
        if (BatchesInFlightMax is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(BatchesInFlightMax), BatchesInFlightMax, "1..16");
        if (AttemptsMax is < 1 or > 20) throw new ArgumentOutOfRangeException(nameof(AttemptsMax), AttemptsMax, "1..20");
    }
}
