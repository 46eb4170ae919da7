using System.Data.Common;
using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money.Events;

/// <summary>
/// The <c>event_subscriptions</c> table: one row per subscriber holding its checkpoint and its lease. Every write
/// after taking the lease is fenced by <c>lease_owner = @owner</c>, so a process whose lease lapsed and was taken
/// over can neither move the checkpoint nor clear the new holder's lease: at worst it handled a batch the new holder
/// handles again (at least once), it never skips one.
/// </summary>
internal sealed class EventSubscriptions(Db db)
{
    /// <summary>Longest <c>last_error</c> kept.</summary>
    public const int LastErrorLengthMax = 512;

    private const string EnsureSql = """
        INSERT INTO event_subscriptions (name, created_at_us, updated_at_us) VALUES (@name, @now, @now)
        ON CONFLICT (name) DO NOTHING
        """;

    // Taken when free, lapsed, or already ours (which renews it). Two processes racing for it: on PostgreSQL the second
    // UPDATE waits for the first's row lock and re-checks the condition against the new lease, so only one wins.
    private const string LeaseSql = """
        UPDATE event_subscriptions SET lease_owner = @owner, lease_until_us = @until, updated_at_us = @now
        WHERE name = @name AND (lease_owner = @owner OR lease_owner IS NULL OR lease_until_us < @now)
        RETURNING tx_id, seq, failures
        """;

    private const string AdvanceSql = """
        UPDATE event_subscriptions
        SET tx_id = @tx, seq = @seq, failures = 0, last_error = NULL, handled_count = handled_count + @count, updated_at_us = @now
        WHERE name = @name AND lease_owner = @owner AND (tx_id, seq) < (@tx, @seq)
        """;

    private const string FailSql = """
        UPDATE event_subscriptions SET failures = failures + 1, last_error = @error, updated_at_us = @now
        WHERE name = @name AND lease_owner = @owner
        """;

    private const string ReleaseSql = """
        UPDATE event_subscriptions SET lease_owner = NULL, lease_until_us = 0, updated_at_us = @now
        WHERE name = @name AND lease_owner = @owner
        """;

    public async Task EnsureAsync(string name, long nowUs, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(EnsureSql, new { name, now = nowUs }, cancellationToken: ct));
    }

    /// <summary>Takes or renews the lease until <paramref name="untilUs"/>: the checkpoint and failure count, or null when another process holds it.</summary>
    public async Task<Lease?> TryLeaseAsync(DbConnection connection, string name, string owner, long nowUs, long untilUs, CancellationToken ct)
    {
        var row = await connection.QuerySingleOrDefaultAsync<LeaseRow>(new CommandDefinition(LeaseSql,
            new { name, owner, now = nowUs, until = untilUs }, cancellationToken: ct));
        return row is null ? null : new Lease(new EventPosition(row.tx_id, row.seq), row.failures);
    }

    /// <summary>Moves the checkpoint forward to <paramref name="to"/>. False when the lease was lost meanwhile.</summary>
    public async Task<bool> AdvanceAsync(string name, string owner, EventPosition to, int count, long nowUs, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(AdvanceSql,
            new { name, owner, tx = to.TxId, seq = to.Seq, count, now = nowUs }, cancellationToken: ct)) == 1;
    }

    /// <summary>
    /// <see cref="AdvanceAsync"/> inside the caller's transaction (the handler's, so the checkpoint commits with its effects).
    /// The row's lock is held until that transaction ends: a concurrent handler of the same batch waits, then finds it moved.
    /// </summary>
    public static async Task<bool> AdvanceInAsync(DbConnection connection, DbTransaction tx, string name, string owner, EventPosition to, int count,
        long nowUs, CancellationToken ct) =>
        await connection.ExecuteAsync(new CommandDefinition(AdvanceSql,
            new { name, owner, tx = to.TxId, seq = to.Seq, count, now = nowUs }, tx, cancellationToken: ct)) == 1;

    public async Task RecordFailureAsync(string name, string owner, string error, long nowUs, CancellationToken ct)
    {
        if (error.Length > LastErrorLengthMax) error = error[..LastErrorLengthMax];
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(FailSql, new { name, owner, error, now = nowUs }, cancellationToken: ct));
    }

    public async Task ReleaseAsync(string name, string owner, long nowUs, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(ReleaseSql, new { name, owner, now = nowUs }, cancellationToken: ct));
    }

    public readonly record struct Lease(EventPosition Checkpoint, int Failures);

    private sealed class LeaseRow
    {
        public long tx_id { get; init; }
        public long seq { get; init; }
        public int failures { get; init; }
    }
}
