using System.Data.Common;

namespace Qianbao.Server.Money.Events;

/// <summary>
/// One batch handed to a subscriber by <see cref="EventRunner"/>, with the means to move the subscriber's checkpoint past
/// it inside the handler's own write transaction (<see cref="CommitCheckpointAsync"/>): the effects and the checkpoint
/// then commit together, so the batch's effects happen exactly once, and the runner's separate checkpoint transaction is
/// saved.
/// </summary>
/// <remarks>
/// Why it is exactly once across processes: the checkpoint write is fenced like every checkpoint write (this process's
/// lease, and the stored checkpoint still before the batch's end). It is the first statement of the handler's transaction,
/// so it takes the subscription row's lock: a second handler of the same batch (an abandoned one that finished late, or
/// another process that took the lease) waits on that lock and then finds the row moved or the lease gone, throws
/// <see cref="EventCheckpointMovedException"/> and rolls its effects back. A batch is delivered again only when its
/// transaction did not commit, i.e. when none of its effects did.
/// <see cref="MayRepeat"/> says when effects of these events may nevertheless be stored already: a batch that begins at or
/// before the log's last event when this process took the lease (a holder that handled them without this, or before an
/// upgrade, may have committed them without its checkpoint; it can only have handled events already in the log), or any
/// batch after a failure. A handler keeps its own deduplication for those batches.
/// </remarks>
public sealed class EventBatch
{
    private readonly Func<DbConnection, DbTransaction, CancellationToken, Task<bool>>? write;

    internal EventBatch(IReadOnlyList<StoredEvent> events, bool mayRepeat, Func<DbConnection, DbTransaction, CancellationToken, Task<bool>>? write)
    {
        Events = events;
        MayRepeat = mayRepeat;
        this.write = write;
    }

    /// <summary>A batch delivered outside the runner (tests, tools): it may repeat, and moves no checkpoint.</summary>
    public static EventBatch Unchecked(IReadOnlyList<StoredEvent> events) => new(events, true, null);

    public IReadOnlyList<StoredEvent> Events { get; }

    /// <summary>Whether effects of some of these events may already be stored (see the remarks): deduplicate when true.</summary>
    public bool MayRepeat { get; }

    /// <summary>Set once <see cref="CommitCheckpointAsync"/> wrote the checkpoint (it counts only if the handler then returns).</summary>
    internal bool CheckpointWritten { get; private set; }

    /// <summary>
    /// Moves the checkpoint past the batch in <paramref name="tx"/>; call it first in the transaction that writes the batch's
    /// effects. Throws <see cref="EventCheckpointMovedException"/> (roll back) when the lease was lost or the batch already
    /// handled. Does nothing for a batch delivered outside the runner.
    /// </summary>
    public async Task CommitCheckpointAsync(DbConnection connection, DbTransaction tx, CancellationToken ct)
    {
        if (write is null) return;
        if (!await write(connection, tx, ct)) throw new EventCheckpointMovedException();
        CheckpointWritten = true;
    }
}

/// <summary>The batch's checkpoint could not be moved: another process holds the lease, or the batch was handled already.</summary>
public sealed class EventCheckpointMovedException()
    : Exception("the subscriber's checkpoint moved or its lease was lost; the batch's transaction must roll back");
