using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money;

/// <summary>An owner's freeze as it stands: <see cref="FrozenAtUs"/> and <see cref="Reason"/> are set while frozen.</summary>
public readonly record struct FreezeState(Guid OwnerId, bool Frozen, string? Reason, long? FrozenAtUs);

/// <summary>
/// Freezes and unfreezes the owner of ledger accounts (a wallet holder). A frozen owner's accounts still
/// receive money; <see cref="Pipeline.FreezePolicy"/> refuses every new transfer that debits them. The state
/// is read by the ledger batch together with the account locks, so a committed freeze holds for every
/// later batch of every server process.
/// </summary>
public sealed class Freezes(Db db, TimeProvider clock)
{
    public const int ReasonLengthMax = 500;

    /// <summary>Freezes <paramref name="ownerId"/>; freezing a frozen owner keeps the first freeze's reason and time.</summary>
    public async Task<FreezeState> FreezeAsync(Guid ownerId, string reason, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO owner_freezes (owner_id, reason, frozen_at_us) VALUES (@ownerId, @reason, @now) ON CONFLICT (owner_id) DO NOTHING",
            new { ownerId, reason, now = clock.GetUnixMicroseconds() }, cancellationToken: ct));
        return await ReadAsync(connection, ownerId, ct);
    }

    public async Task<FreezeState> UnfreezeAsync(Guid ownerId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM owner_freezes WHERE owner_id = @ownerId", new { ownerId }, cancellationToken: ct));
        return new FreezeState(ownerId, false, null, null);
    }

    /// <summary>Whether <paramref name="ownerId"/> is frozen now (a read for early answers; the money pipeline decides on its own locked read).</summary>
    public async Task<bool> IsFrozenAsync(Guid ownerId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM owner_freezes WHERE owner_id = @ownerId", new { ownerId }, cancellationToken: ct)) > 0;
    }

    /// <summary>Whether <paramref name="ownerId"/> is frozen now, and since when and why.</summary>
    public async Task<FreezeState> StateAsync(Guid ownerId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await ReadAsync(connection, ownerId, ct);
    }

    private static async Task<FreezeState> ReadAsync(System.Data.Common.DbConnection connection, Guid ownerId, CancellationToken ct)
    {
        var row = await connection.QuerySingleOrDefaultAsync<(string Reason, long FrozenAtUs)?>(new CommandDefinition(
            "SELECT reason, frozen_at_us FROM owner_freezes WHERE owner_id = @ownerId", new { ownerId }, cancellationToken: ct));
        return row is { } r ? new FreezeState(ownerId, true, r.Reason, r.FrozenAtUs) : new FreezeState(ownerId, false, null, null);
    }
}
