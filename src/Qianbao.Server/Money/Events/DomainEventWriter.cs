using System.Data.Common;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Money.Events;

/// <summary>Appends the domain events of a ledger batch's commands to the outbox, in the batch transaction.</summary>
internal sealed class DomainEventWriter : EffectWriter<DomainEvent>
{
    protected override ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<DomainEvent> effects, CancellationToken ct) =>
        EventLog.AppendAsync(connection, transaction, effects, ct);
}
