using System.Data.Common;

namespace Qianbao.Server.Money.Pipeline;

/// <summary>
/// A precondition on a module's own state, checked inside the batch transaction before its command is applied
/// (for example "the trade is still waiting for payment"). Two commands with the same <see cref="Key"/> never
/// share a batch, so a guard always sees the committed effects of every earlier command with its key. The
/// owning module registers the <see cref="IGuardChecker"/> that evaluates (and, where the engine can, locks)
/// the state.
/// </summary>
public interface IGuard
{
    /// <summary>What the guard protects, e.g. <c>trade:2026...</c>; guarded rows are locked in key order.</summary>
    string Key { get; }
}

/// <summary>Evaluates every guard of one type in the batch transaction; exactly one checker per guard type.</summary>
public interface IGuardChecker
{
    Type GuardType { get; }

    /// <returns>For each guard, in order, whether it holds.</returns>
    ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IGuard> guards, CancellationToken ct);
}

/// <summary>A typed <see cref="IGuardChecker"/>.</summary>
public abstract class GuardChecker<TGuard> : IGuardChecker where TGuard : IGuard
{
    public Type GuardType => typeof(TGuard);

    public ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IGuard> guards, CancellationToken ct)
    {
        var typed = new TGuard[guards.Count];
        for (var i = 0; i < typed.Length; i++) typed[i] = (TGuard)guards[i];
        return CheckAsync(connection, transaction, typed, ct);
    }

    protected abstract ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<TGuard> guards, CancellationToken ct);
}
