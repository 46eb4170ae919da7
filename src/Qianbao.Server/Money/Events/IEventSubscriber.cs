namespace Qianbao.Server.Money.Events;

/// <summary>
/// Reacts to domain events. Register implementations as <c>IEventSubscriber</c> singletons; <see cref="EventRunner"/>
/// delivers every retained event to each, in position order, in batches of at most <c>Qianbao:Events:BatchSizeMax</c>.
/// </summary>
/// <remarks>
/// Delivery is at least once: a batch whose handler threw, whose process died, or whose lease lapsed is delivered
/// again, possibly to another server process. Handlers must therefore be idempotent, keyed by
/// <see cref="StoredEvent.EventId"/> (for example a unique constraint written in the same transaction as the
/// handler's effect). A handler that keeps failing holds back only its own subscriber, which is retried with
/// growing pauses; it must finish within <c>Qianbao:Events:LeaseMs</c> or its token is cancelled.
/// </remarks>
public interface IEventSubscriber
{
    /// <summary>
    /// Stable name, 1..64 of <c>a-z 0-9 _ . -</c>: it keys the subscriber's checkpoint, so renaming one makes it start
    /// again from the oldest retained event.
    /// </summary>
    string Name { get; }

    /// <summary>
    /// The event type names (<see cref="EventTypes"/>) this subscriber reacts to, or null for every type. Other events
    /// are passed over without calling <see cref="HandleAsync"/>, and the checkpoint moves past them without a write
    /// per pass, so a subscriber of rare events costs next to nothing while transfers stream by.
    /// </summary>
    IReadOnlySet<string>? Handles => null;

    /// <summary>Handles one batch (1..BatchSizeMax events, oldest first). Returning means all of them are handled.</summary>
    Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct);

    /// <summary>
    /// What the runner calls. A subscriber that writes its effects in one transaction overrides it to commit the checkpoint
    /// with them (<see cref="EventBatch.CommitCheckpointAsync"/>: exactly once, one transaction less per batch) and to skip
    /// its deduplication when <see cref="EventBatch.MayRepeat"/> is false. Otherwise the runner moves the checkpoint after it
    /// returns, as for <see cref="HandleAsync(IReadOnlyList{StoredEvent}, CancellationToken)"/>.
    /// </summary>
    Task HandleAsync(EventBatch batch, CancellationToken ct) => HandleAsync(batch.Events, ct);
}
