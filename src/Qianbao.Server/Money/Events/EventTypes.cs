using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Qianbao.Server.Money.Events;

/// <summary>
/// The stable type names of the events in <c>EventCatalogue.cs</c> and their JSON form. A name is stored with every
/// event and read back by subscribers long after, possibly by another version of the server: never change or reuse
/// one. Names are <c>aggregate.past_tense</c> in lower snake_case.
/// </summary>
public static class EventTypes
{
    /// <summary>Longest type name (the column is text; the bound keeps names reasonable).</summary>
    public const int NameLengthMax = 64;

    /// <summary>Longest stream key.</summary>
    public const int StreamLengthMax = 200;

    private static readonly FrozenDictionary<Type, string> Names = new Dictionary<Type, string>
    {
        [typeof(TransferCompleted)] = "transfer.completed",
        [typeof(TopUpSucceeded)] = "top_up.succeeded",
        [typeof(TopUpFailed)] = "top_up.failed",
        [typeof(WithdrawalSucceeded)] = "withdrawal.succeeded",
        [typeof(WithdrawalFailed)] = "withdrawal.failed",
        [typeof(TradePaid)] = "trade.paid",
        [typeof(TradeClosed)] = "trade.closed",
        [typeof(TradeRefunded)] = "trade.refunded",
        [typeof(TradeSettled)] = "trade.settled",
        [typeof(UserRegistered)] = "user.registered",
        [typeof(MerchantVerified)] = "merchant.verified",
        [typeof(IdentityVerified)] = "identity.verified",
        [typeof(ComplaintOpened)] = "complaint.opened",
        [typeof(ComplaintReplied)] = "complaint.replied",
        [typeof(ComplaintResolved)] = "complaint.resolved",
        [typeof(RedPacketCreated)] = "red_packet.created",
        [typeof(RedPacketClaimed)] = "red_packet.claimed",
        [typeof(RedPacketExpired)] = "red_packet.expired",
        [typeof(CashbackPosted)] = "cashback.posted",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, Type> Types = Names.ToFrozenDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    /// <summary>
    /// Payload JSON: snake_case, nulls omitted, numbers strict, the envelope left out. Deliberately not the HTTP API's
    /// options object, so a change to the API's JSON cannot silently change what is stored.
    /// </summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.Strict,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { LeaveOutEnvelope } },
    };

    private static readonly FrozenSet<string> EnvelopeProperties =
        new[] { nameof(DomainEvent.EventId), nameof(DomainEvent.OccurredAtUs), nameof(DomainEvent.Stream) }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// The envelope is stored in columns, not in the payload. [JsonIgnore] on the base record does not reach an
    /// override such as each event's <see cref="DomainEvent.Stream"/>, so the envelope is removed here for every event.
    /// </summary>
    private static void LeaveOutEnvelope(JsonTypeInfo info)
    {
        if (!info.Type.IsAssignableTo(typeof(DomainEvent)) || info.Kind != JsonTypeInfoKind.Object) return;
        for (var i = info.Properties.Count - 1; i >= 0; i--)
        {
            if (info.Properties[i].AttributeProvider is System.Reflection.MemberInfo member && EnvelopeProperties.Contains(member.Name))
                info.Properties.RemoveAt(i);
        }
    }

    /// <summary>Every known type name.</summary>
    public static IReadOnlyCollection<string> All => Types.Keys;

    public static string NameOf<T>() where T : DomainEvent => NameOf(typeof(T));

    public static string NameOf(Type type) =>
        Names.TryGetValue(type, out var name) ? name : throw new ArgumentException($"{type.Name} is not in the event catalogue (EventTypes).", nameof(type));

    /// <summary>The record type of <paramref name="name"/>, or null for a name this server does not know (written by a newer one).</summary>
    public static Type? TypeOf(string name) => Types.GetValueOrDefault(name);

    /// <summary>The payload JSON of <paramref name="e"/>: its own properties, without the envelope.</summary>
    public static string Serialize(DomainEvent e) => JsonSerializer.Serialize(e, e.GetType(), Json);

    /// <summary>The typed event of a stored row, or null when <paramref name="type"/> is unknown here.</summary>
    public static DomainEvent? Deserialize(string type, string payload, Guid eventId, long occurredAtUs)
    {
        var clr = TypeOf(type);
        if (clr is null) return null;
        var e = (DomainEvent)(JsonSerializer.Deserialize(payload, clr, Json)
            ?? throw new JsonException($"event payload of {type} is null"));
        return e with { EventId = eventId, OccurredAtUs = occurredAtUs };
    }
}
