using System.Text.Json.Serialization;
using Qianbao.Ledger;

namespace Qianbao.Server.Money.Events;

/// <summary>
/// A fact that happened, recorded in <c>domain_events</c> in the same transaction as the change it announces. The
/// envelope (<see cref="EventId"/>, <see cref="OccurredAtUs"/>, <see cref="Stream"/>, the type name from
/// <see cref="EventTypes"/>) is stored in columns; the derived record's own properties are the JSON payload, in
/// snake_case. Concrete events live in <c>EventCatalogue.cs</c>. An event is also an <see cref="Pipeline.IEffect"/>: a
/// ledger command carries it, and the batch appends it in the transaction that commits the postings.
/// </summary>
/// <remarks>
/// <see cref="EventId"/> is chosen by the producer and unique: appending an event whose id is already stored is a
/// no-op, so a producer that may run twice (a retried batch, a replayed request) should derive it from the fact
/// itself with <see cref="IdFor"/>; one that runs once may use a fresh <see cref="Guid.CreateVersion7()"/>.
/// </remarks>
public abstract record DomainEvent : Pipeline.IEffect
{
    /// <summary>Producer-chosen, unique id: the idempotency key of the append.</summary>
    [JsonIgnore]
    public Guid EventId { get; init; }

    /// <summary>When it happened, Unix microseconds (UTC), from the producer's clock. Retention counts from here.</summary>
    [JsonIgnore]
    public long OccurredAtUs { get; init; }

    /// <summary>The aggregate the event is about, as <c>kind:id</c> (for example <c>user:0190…</c>); at most 200 characters.</summary>
    [JsonIgnore]
    public abstract string Stream { get; }

    /// <summary>A stable id for the event of type <typeparamref name="T"/> about <paramref name="key"/>: the same fact always gets the same id.</summary>
    public static Guid IdFor<T>(string key) where T : DomainEvent => StableId.From("event/" + EventTypes.NameOf<T>(), key);
}

