using System.Data.Common;
using Npgsql;
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

/// <summary>
/// Evaluates <see cref="IdempotencyKeyFreeGuard"/>s. PostgreSQL: one statement for the whole batch (the keys as two arrays,
/// each probed on the primary key), not one statement per guard: a batch of 64 transfers was 64 parses and executions.
/// SQLite (in-process): one probe per guard.
/// </summary>
internal sealed class IdempotencyKeyFreeGuardChecker : GuardChecker<IdempotencyKeyFreeGuard>
{
    protected override async ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IdempotencyKeyFreeGuard> guards,
        CancellationToken ct)
    {
        if (connection is NpgsqlConnection pg)
        {
            var scopes = new string[guards.Count];
            var keys = new string[guards.Count];
            for (var i = 0; i < guards.Count; i++) (scopes[i], keys[i]) = (guards[i].Scope, guards[i].IdempotencyKey);
            // One primary-key probe per key (the LATERAL … LIMIT 1 keeps it a parameterised index lookup): a plain join lets the
            // planner pick a hash join over a sequential scan while the table is small or never analysed, and keep that plan.
            await using var cmd = new NpgsqlCommand("""
                SELECT k.scope, k.key FROM unnest(@scopes, @keys) AS u(scope, key)
                CROSS JOIN LATERAL (SELECT i.scope, i.key FROM idempotency_keys i WHERE i.scope = u.scope AND i.key = u.key LIMIT 1) AS k
                """, pg, (NpgsqlTransaction)transaction);
            cmd.Parameters.Add(new NpgsqlParameter<string[]>("scopes", scopes));
            cmd.Parameters.Add(new NpgsqlParameter<string[]>("keys", keys));
            HashSet<(string, string)>? stored = null;
            await using (var reader = await cmd.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct)) (stored ??= []).Add((reader.GetString(0), reader.GetString(1)));
            var free = new bool[guards.Count];
            for (var i = 0; i < free.Length; i++) free[i] = stored is null || !stored.Contains((scopes[i], keys[i]));
            return free;
        }
        var queries = new SqlStatement[guards.Count];
        for (var i = 0; i < queries.Length; i++)
            queries[i] = new("SELECT 1 FROM idempotency_keys WHERE scope = @scope AND key = @key",
                new Dictionary<string, object?> { ["scope"] = guards[i].Scope, ["key"] = guards[i].IdempotencyKey });
        var found = await SqlBatch.AnyRowsAsync(connection, transaction, queries, ct);
        for (var i = 0; i < found.Length; i++) found[i] = !found[i];
        return found;
    }
}
