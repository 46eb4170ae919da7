using System.Data.Common;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Money.Events;

/// <summary>Appends the domain events of a ledger batch's commands to the outbox, in the batch transaction.</summary>
internal sealed class DomainEventWriter : EffectWriter<DomainEvent>, IBatchingEffectWriter
{
    protected override ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<DomainEvent> effects, CancellationToken ct) =>
        EventLog.AppendAsync(connection, transaction, effects, ct);

    /// <summary>One plain insert: it rides in the ledger batch's write round trip on PostgreSQL (issue 13, session 8).</summary>
    public bool TryAddTo(Npgsql.NpgsqlBatch batch, IReadOnlyList<IEffect> effects, List<Action> afterwards)
    {
        if (effects.Count == 0) return true;
        EventLog.AddTo(batch, [.. effects.Cast<DomainEvent>()]);
        return true;
    }
}
