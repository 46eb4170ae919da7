using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity.Tiers;

/// <summary>A user's verified identity as stored (null fields when none is verified).</summary>
internal sealed record IdentityRow(UserTier Tier, string? Name, string? NumberHash, string? NumberMasked);

/// <summary>Reads of an account's tier and verified identity (the users table is Identity's own).</summary>
internal sealed class TierStore(Db db, UserData data)
{
    /// <summary>The account's tier; null when there is no such user.</summary>
    public async Task<UserTier?> GetAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var tier = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition("SELECT tier FROM users WHERE id = @userId",
            new { userId }, cancellationToken: ct));
        return tier is { } t ? UserTiers.FromStored(t) : null;
    }

    public async Task<IdentityRow?> IdentityAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            "SELECT tier, identity_name, identity_number_hash, identity_number_masked FROM users WHERE id = @userId",
            new { userId }, cancellationToken: ct));
        return row is null ? null : new IdentityRow(UserTiers.FromStored(row.tier), data.Open(userId, "identity_name", row.identity_name),
            row.identity_number_hash, row.identity_number_masked);
    }

    private sealed class Row
    {
        public long tier { get; init; }
        public string? identity_name { get; init; }
        public string? identity_number_hash { get; init; }
        public string? identity_number_masked { get; init; }
    }
}
