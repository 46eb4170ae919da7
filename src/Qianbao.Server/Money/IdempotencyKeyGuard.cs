using System.Data.Common;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money;

/// <summary>
/// Holds while no response is stored under the request's Idempotency-Key: a request begun without looking the key up first
/// (<see cref="Idempotency.BeginAsync"/> with <c>lookUp: false</c>) is decided on this inside its batch, so a replay costs the
/// batch one statement instead of every first request a round trip of its own. Two commands with one key are never in one
/// batch (the batcher keeps equal guard keys apart), so the second sees the first's stored response.
/// </summary>
internal sealed record IdempotencyKeyFreeGuard(string Scope, string IdempotencyKey) : IGuard
{
    public string Key => "idem:" + Scope + "/" + IdempotencyKey;
}

/// <summary>Evaluates <see cref="IdempotencyKeyFreeGuard"/>s: one probe of <c>idempotency_keys</c> per guard, in one round trip.</summary>
internal sealed class IdempotencyKeyFreeGuardChecker : GuardChecker<IdempotencyKeyFreeGuard>
{
    protected override async ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IdempotencyKeyFreeGuard> guards,
        CancellationToken ct)
    {
        var queries = new SqlStatement[guards.Count];
        for (var i = 0; i < queries.Length; i++)
            queries[i] = new("SELECT 1 FROM idempotency_keys WHERE scope = @scope AND key = @key",
                new Dictionary<string, object?> { ["scope"] = guards[i].Scope, ["key"] = guards[i].IdempotencyKey });
        var stored = await SqlBatch.AnyRowsAsync(connection, transaction, queries, ct);
        for (var i = 0; i < stored.Length; i++) stored[i] = !stored[i];
        return stored;
    }
}
