using System.Data.Common;
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

    /// <summary>Checks <paramref name="guards"/> in key order (so every process locks guarded rows in one order), grouped by type.</summary>
    public async ValueTask<bool[]> CheckGuardsAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<IGuard> guards, CancellationToken ct)
    {
        if (guards.Any(g => g is CompositeGuard))
        {
            // A composite holds when every part holds: check the flattened parts, then fold them back per command.
            var owners = new List<int>();
            var flat = new List<IGuard>();
            for (var i = 0; i < guards.Count; i++)
                foreach (var part in guards[i] is CompositeGuard c ? c.Parts : [guards[i]])
                {
                    owners.Add(i);
                    flat.Add(part);
                }
            var partsPassed = await CheckGuardsAsync(connection, tx, flat, ct);
            var all = Enumerable.Repeat(true, guards.Count).ToArray();
            for (var k = 0; k < flat.Count; k++) all[owners[k]] &= partsPassed[k];
            return all;
        }
        var passed = new bool[guards.Count];
        var order = Enumerable.Range(0, guards.Count).OrderBy(i => guards[i].Key, StringComparer.Ordinal).ToArray();
        foreach (var group in order.GroupBy(i => guards[i].GetType()))
        {
            Invariant.That(checkers.TryGetValue(group.Key, out var checker), $"no guard checker registered for {group.Key.Name}");
            var indexes = group.ToArray();
            var results = await checker!.CheckAsync(connection, tx, [.. indexes.Select(i => guards[i])], ct);
            Invariant.That(results.Length == indexes.Length, "a guard checker answers every guard");
            for (var k = 0; k < indexes.Length; k++) passed[indexes[k]] = results[k];
        }
        return passed;
    }

    /// <summary>Writes <paramref name="effects"/> grouped by writer, each group in command order.</summary>
    public async ValueTask WriteEffectsAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<IEffect> effects, CancellationToken ct)
    {
        foreach (var group in effects.GroupBy(e => WriterFor(e.GetType())))
            await group.Key.WriteAsync(connection, tx, [.. group], ct);
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
