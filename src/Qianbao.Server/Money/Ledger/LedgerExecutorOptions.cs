using System.ComponentModel.DataAnnotations;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Money.Ledger;

/// <summary>Limits of the batching executor (configuration section <c>Qianbao:Ledger</c>).</summary>
public sealed class LedgerExecutorOptions
{
    /// <summary>Most transfers applied in one database transaction. 1..65536.</summary>
    [Range(1, 65_536)]
    public int BatchSizeMax { get; set; } = 4096;

    /// <summary>
    /// How long the executor lingers for more requests after the first one of a batch, in microseconds
    /// (0..100000). 0 means: take whatever is queued and go; requests that arrive during a commit form the
    /// next batch anyway, so lingering only helps when the database is faster than the callers. The executor waits on its
    /// queue for the window (it does not spin).
    /// </summary>
    [Range(0, 100_000)]
    public int BatchWindowUs { get; set; }

    /// <summary>
    /// How long the executor lingers for more requests when the queue is deep (0..100000 µs; 0: never): when the batch just
    /// formed (with the commands held back for it) already holds <see cref="DeepQueueBatchMin"/> transfers and another batch is
    /// committing. The callers are then many and the database busy, and a larger batch saves per-batch work (PostgreSQL and
    /// executor CPU per transfer, BENCHMARKS.md session 7). A lone request, or a batch with none in flight (SQLite), never
    /// lingers for it.
    /// </summary>
    [Range(0, 100_000)]
    public int DeepQueueWindowUs { get; set; } = 1000;

    /// <summary>Transfers a batch must already hold for <see cref="DeepQueueWindowUs"/> to apply (1..65536).</summary>
    [Range(1, 65_536)]
    public int DeepQueueBatchMin { get; set; } = 32;

    /// <summary>Most commands waiting for a batch; callers beyond it wait to enqueue (back-pressure). 1..1000000.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>
    /// Batches in flight at once on PostgreSQL (1..16): while one waits for its commit to reach the disk, the next
    /// is read, applied and written. Row locks taken in a stable order keep concurrent batches correct, exactly as
    /// they do for several server processes; a command naming an account of a batch in flight waits for a later batch, so
    /// that the next batch does not queue on that batch's row locks. SQLite has one writer, so there it is always 1.
    /// </summary>
    [Range(1, 16)]
    public int BatchesInFlightMax { get; set; } = 2;

    /// <summary>Attempts for a batch that hits a transient database error (deadlock, concurrent insert). 1..20.</summary>
    [Range(1, 20)]
    public int AttemptsMax { get; set; } = 8;

    /// <summary>Throws <see cref="ConfigurationRefusedException"/> naming each key out of its range (the ranges are the attributes above).</summary>
    public void Validate() => OptionsRules.ThrowIfInvalid(this, "Qianbao:Ledger");
}
