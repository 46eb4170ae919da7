using System.Data.Common;
using Npgsql;
using Qianbao.Ledger;

namespace Qianbao.Server.Money.Pipeline;

/// <summary>
/// What the modules plug into the money pipeline: guard checkers and effect writers for their own state, and
/// the movement policies. The ledger store calls them inside the batch transaction.
/// </summary>
public sealed class PipelineParts
{
    private readonly Dictionary<Type, IGuardChecker> checkers;
    private readonly Dictionary<Type, IEffectWriter> writers;

    public PipelineParts(IEnumerable<IGuardChecker> checkers, IEnumerable<IEffectWriter> writers, IEnumerable<IMovementPolicy> policies)
    {
        this.checkers = [];
        foreach (var c in checkers) Invariant.That(this.checkers.TryAdd(c.GuardType, c), $"one guard checker for {c.GuardType.Name}");
        this.writers = [];
        foreach (var w in writers) Invariant.That(this.writers.TryAdd(w.EffectType, w), $"one effect writer for {w.EffectType.Name}");
        Policies = [.. policies];
    }

    /// <summary>No guards, effects or policies: the bare ledger (benchmarks and ledger tests).</summary>
    public static PipelineParts None { get; } = new([], [], []);

    public IReadOnlyList<IMovementPolicy> Policies { get; }

    /// <summary>Whether any policy reads account facts (the stores load them only then).</summary>
    public bool NeedsAccountFacts => Policies.Count > 0;

    /// <summary>
    /// Checks the parts of <paramref name="guards"/> whose checkers run in <paramref name="phase"/> (<see cref="IGuardChecker.ChecksBeforeAccountLocks"/>),
    /// in key order (so every process locks guarded rows in one order), grouped by type. A command's answer is whether every one of
    /// its parts of this phase holds (a part of the other phase counts as holding here; the store ands both phases).
    /// </summary>
    public async ValueTask<bool[]> CheckGuardsAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<IGuard> guards, GuardPhase phase, CancellationToken ct)
    {
        // Flatten composites (a composite holds when every part holds), keep this phase's parts, fold them back per command.
        var owners = new List<int>();
        var flat = new List<IGuard>();
        for (var i = 0; i < guards.Count; i++)
            foreach (var part in Parts(guards[i]))
            {
                if ((Checker(part.GetType()).ChecksBeforeAccountLocks ? GuardPhase.BeforeAccountLocks : GuardPhase.AfterAccountLocks) != phase) continue;
                owners.Add(i);
                flat.Add(part);
            }
        var all = new bool[guards.Count];
        Array.Fill(all, true);
        if (flat.Count == 0) return all;
        var order = Enumerable.Range(0, flat.Count).OrderBy(i => flat[i].Key, StringComparer.Ordinal).ToArray();
        foreach (var group in order.GroupBy(i => flat[i].GetType()))
        {
            var indexes = group.ToArray();
            var results = await Checker(group.Key).CheckAsync(connection, tx, [.. indexes.Select(i => flat[i])], ct);
            Invariant.That(results.Length == indexes.Length, "a guard checker answers every guard");
            for (var k = 0; k < indexes.Length; k++) all[owners[indexes[k]]] &= results[k];
        }
        return all;
    }

    /// <summary>Whether any part of <paramref name="guards"/> is checked in <paramref name="phase"/> (no round trip otherwise).</summary>
    public bool AnyIn(IReadOnlyList<IGuard> guards, GuardPhase phase)
    {
        foreach (var g in guards)
            foreach (var part in Parts(g))
                if ((Checker(part.GetType()).ChecksBeforeAccountLocks ? GuardPhase.BeforeAccountLocks : GuardPhase.AfterAccountLocks) == phase) return true;
        return false;
    }

    /// <summary>The plain guards of <paramref name="guard"/> (a composite's parts, nested ones flattened).</summary>
    private static IEnumerable<IGuard> Parts(IGuard guard)
    {
        if (guard is not CompositeGuard composite)
        {
            yield return guard;
            yield break;
        }
        foreach (var part in composite.Parts)
            foreach (var plain in Parts(part)) yield return plain;
    }

    private IGuardChecker Checker(Type guardType)
    {
        Invariant.That(checkers.TryGetValue(guardType, out var checker), $"no guard checker registered for {guardType.Name}");
        return checker!;
    }

    /// <summary>
    /// Writes <paramref name="effects"/> grouped by writer, each group in command order, the groups in order of first appearance. On
    /// PostgreSQL consecutive groups of <see cref="IBatchingEffectWriter"/>s go in one round trip, the first of them in
    /// <paramref name="first"/> (the store's own writes, which this executes, then runs <paramref name="firstCheck"/>); the others are
    /// written by their writers one after another, so every statement still runs in the same order as one writer after another.
    /// </summary>
    /// <param name="firstResults">Reads the result rows of <paramref name="first"/>'s statements (those that return rows, in order)
    /// before the checks run; null: <paramref name="first"/> is executed as a non-query.</param>
    public async ValueTask WriteEffectsAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<IEffect> effects, NpgsqlBatch? first, Action? firstCheck,
        CancellationToken ct, Func<NpgsqlDataReader, CancellationToken, Task>? firstResults = null)
    {
        var pending = first;
        var afterwards = new List<Action>();
        if (firstCheck is not null) afterwards.Add(firstCheck);
        foreach (var group in effects.GroupBy(e => WriterFor(e.GetType())))
        {
            if (connection is NpgsqlConnection pg && group.Key is IBatchingEffectWriter batching)
            {
                pending ??= new NpgsqlBatch(pg, (NpgsqlTransaction)tx);
                if (batching.TryAddTo(pending, [.. group], afterwards)) continue;
            }
            await FlushAsync();
            await group.Key.WriteAsync(connection, tx, [.. group], ct);
        }
        await FlushAsync();

        async ValueTask FlushAsync()
        {
            if (pending is null) return;
            if (pending.BatchCommands.Count > 0)
            {
                if (firstResults is not null && ReferenceEquals(pending, first))
                {
                    await using var reader = await pending.ExecuteReaderAsync(ct);
                    await firstResults(reader, ct);
                    // Every statement after the rows read runs (and raises its error) before the checks.
                    while (await reader.NextResultAsync(ct)) { }
                }
                else await pending.ExecuteNonQueryAsync(ct);
            }
            foreach (var check in afterwards) check();
            afterwards.Clear();
            if (!ReferenceEquals(pending, first)) await pending.DisposeAsync();
            pending = null;
        }
    }

    /// <summary>The writer of <paramref name="type"/> or of its nearest base type (one writer serves every domain event record), resolved once per type.</summary>
    private IEffectWriter WriterFor(Type type) => resolved.GetOrAdd(type, t =>
    {
        for (var candidate = t; candidate is not null; candidate = candidate.BaseType)
            if (writers.TryGetValue(candidate, out var writer)) return writer;
        throw new InvariantViolationException($"no effect writer registered for {t.Name}");
    });

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Type, IEffectWriter> resolved = new();
}

/// <summary>When the ledger store checks a guard: before it locks the batch's accounts, or after (see <see cref="IGuardChecker.ChecksBeforeAccountLocks"/>).</summary>
public enum GuardPhase : byte
{
    BeforeAccountLocks,
    AfterAccountLocks,
}
