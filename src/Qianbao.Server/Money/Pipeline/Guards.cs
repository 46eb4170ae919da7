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

    /// <summary>
    /// Whether the store may check these guards before it locks the batch's accounts (and so outside the time the batch holds
    /// them). Only for a checker that locks every row its decision reads (FOR UPDATE on PostgreSQL) and reads them after the lock,
    /// so the decision never relies on the account locks to keep another process's batch out. False: checked after the accounts
    /// are locked, as before.
    /// </summary>
    bool ChecksBeforeAccountLocks => false;

    /// <returns>For each guard, in order, whether it holds.</returns>
    ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IGuard> guards, CancellationToken ct);
}

/// <summary>A typed <see cref="IGuardChecker"/>.</summary>
public abstract class GuardChecker<TGuard> : IGuardChecker where TGuard : IGuard
{
    public Type GuardType => typeof(TGuard);

    /// <inheritdoc cref="IGuardChecker.ChecksBeforeAccountLocks"/>
    public virtual bool ChecksBeforeAccountLocks => false;

    public ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IGuard> guards, CancellationToken ct)
    {
        var typed = new TGuard[guards.Count];
        for (var i = 0; i < typed.Length; i++) typed[i] = (TGuard)guards[i];
        return CheckAsync(connection, transaction, typed, ct);
    }

    protected abstract ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<TGuard> guards, CancellationToken ct);
}

/// <summary>
/// Several guards that must all hold for one command (a payment guarded by its trade and by the coupon it uses). Its
/// <see cref="Key"/> is its first part's; the batcher keeps apart commands sharing any part's key (<see cref="GuardKeys"/>),
/// so each part still sees the committed effects of every earlier command guarding the same thing.
/// </summary>
public sealed record CompositeGuard(IReadOnlyList<IGuard> Parts) : IGuard
{
    public string Key => Parts[0].Key;
}

/// <summary>The keys a guard protects (its own, or each part's of a <see cref="CompositeGuard"/>), checked against a batch's set without allocating.</summary>
public static class GuardKeys
{
    public static bool AnyIn(IGuard guard, HashSet<string> keys)
    {
        if (guard is not CompositeGuard composite) return keys.Contains(guard.Key);
        foreach (var part in composite.Parts)
            if (AnyIn(part, keys)) return true;
        return false;
    }

    public static void AddTo(IGuard guard, HashSet<string> keys)
    {
        if (guard is not CompositeGuard composite)
        {
            keys.Add(guard.Key);
            return;
        }
        foreach (var part in composite.Parts) AddTo(part, keys);
    }
}
