using System.Data.Common;
using Npgsql;

namespace Qianbao.Server.Money.Pipeline;

/// <summary>
/// A module's state change that must commit with the ledger postings of its command (a trade marked paid, a
/// refund recorded, a notification queued, a domain event). It is a value: the module that owns the state
/// also registers the <see cref="IEffectWriter"/> that persists it, so no SQL text crosses a module boundary.
/// </summary>
public interface IEffect;

/// <summary>
/// Persists every effect of one type inside the batch transaction. Registered in DI by the owning module;
/// the pipeline hands it all effects of its type in the batch at once, in command order, so it can write
/// them in one statement.
/// </summary>
public interface IEffectWriter
{
    /// <summary>The effect type this writer persists (exactly one writer per type).</summary>
    Type EffectType { get; }

    ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IEffect> effects, CancellationToken ct);
}

/// <summary>A typed <see cref="IEffectWriter"/>: implement <see cref="WriteAsync(DbConnection, DbTransaction, IReadOnlyList{TEffect}, CancellationToken)"/>.</summary>
public abstract class EffectWriter<TEffect> : IEffectWriter where TEffect : IEffect
{
    public Type EffectType => typeof(TEffect);

    public ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IEffect> effects, CancellationToken ct)
    {
        var typed = new TEffect[effects.Count];
        for (var i = 0; i < typed.Length; i++) typed[i] = (TEffect)effects[i];
        return WriteAsync(connection, transaction, typed, ct);
    }

    protected abstract ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<TEffect> effects, CancellationToken ct);
}

/// <summary>
/// An effect writer whose PostgreSQL writes need nothing read back between its statements, so the store can send them in the round
/// trip that writes the postings (and with other such writers'): the batch holds its accounts' locks until commit, and every round
/// trip under them serialises the batches that name the same hot accounts (issue 13, session 8).
/// </summary>
public interface IBatchingEffectWriter : IEffectWriter
{
    /// <summary>
    /// Adds the statements that write <paramref name="effects"/> (all of this writer's type, in command order) to <paramref name="batch"/>,
    /// and to <paramref name="afterwards"/> any check of their outcome to run once the batch has executed (it throws to fail the
    /// batch). False, adding nothing, when these effects need <see cref="IEffectWriter.WriteAsync"/> instead.
    /// </summary>
    bool TryAddTo(NpgsqlBatch batch, IReadOnlyList<IEffect> effects, List<Action> afterwards);
}
