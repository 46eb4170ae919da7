namespace Qianbao.Server.Money.Events;

/// <summary>Where an event sits in delivery order: the writing transaction's id, then its sequence number.</summary>
/// <remarks>On PostgreSQL see the comment in migration 0003 for why seq alone is not the order; on SQLite TxId is always 0.</remarks>
public readonly record struct EventPosition(long TxId, long Seq) : IComparable<EventPosition>
{
    /// <summary>Before every event: where a new subscriber starts, so it replays everything retained.</summary>
    public static readonly EventPosition Start = new(0, 0);

    public int CompareTo(EventPosition other) => TxId != other.TxId ? TxId.CompareTo(other.TxId) : Seq.CompareTo(other.Seq);
}

/// <summary>
/// An event as read back from <c>domain_events</c>: the envelope, the raw payload JSON and, on demand, the typed
/// <see cref="Event"/>. A subscriber that meets a type it does not know (written by a newer server) sees
/// <see cref="Event"/> null and should skip it.
/// </summary>
public sealed class StoredEvent(EventPosition position, Guid eventId, string type, string stream, string payload, long occurredAtUs)
{
    /// <summary>Unknown type, parsed: <see cref="Event"/> is null.</summary>
    private static readonly object Unknown = new();

    // The parsed event (or Unknown), published whole: one StoredEvent is handed to several subscriber loops at once
    // (EventReadShare), so the first to ask parses it and the others reuse it. Events are immutable records; two loops
    // racing both parse and either result is the same value.
    private object? parsed;

    public EventPosition Position { get; } = position;
    public Guid EventId { get; } = eventId;
    public string Type { get; } = type;
    public string Stream { get; } = stream;
    /// <summary>The payload as stored: snake_case JSON of the event's own properties.</summary>
    public string Payload { get; } = payload;
    public long OccurredAtUs { get; } = occurredAtUs;

    /// <summary>
    /// The typed event, or null for an unknown type. Parsed on first use rather than when read, so a payload this
    /// version cannot parse fails only the subscribers that ask for it (they retry; the others carry on).
    /// </summary>
    public DomainEvent? Event
    {
        get
        {
            var value = Volatile.Read(ref parsed);
            if (value is null)
            {
                value = (object?)EventTypes.Deserialize(Type, Payload, EventId, OccurredAtUs) ?? Unknown;
                Volatile.Write(ref parsed, value);
            }
            return value as DomainEvent;
        }
    }
}
