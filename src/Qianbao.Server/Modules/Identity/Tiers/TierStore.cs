using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity.Tiers;

/// <summary>A user's verified identity as stored (null fields when none is verified).</summary>
internal sealed record IdentityRow(UserTier Tier, string? Name, string? NumberHash, string? NumberMasked);

/// <summary>
/// Reads of an account's tier and verified identity (the users table is Identity's own). Tiers come from <see cref="UserStates"/>
/// (in memory, kept current by notification); a tier seen during a request is kept for the rest of that request (the spending
/// gate, the limits and the recipient check all ask), so one payment sees one tier per person.
/// </summary>
internal sealed class TierStore(Db db, UserData data, IHttpContextAccessor requests, UserStates states)
{
    /// <summary>The account's tier; null when there is no such user.</summary>
    public async Task<UserTier?> GetAsync(Guid userId, CancellationToken ct)
    {
        if (Remembered(userId) is { } known) return known;
        // Kept in memory across requests, current by notification (UserStates): no round trip per payment.
        if (await states.GetAsync(userId, ct) is not { } state) return null;
        Remember(userId, state.Tier);
        return state.Tier;
    }

    /// <summary>Keeps <paramref name="tier"/>, just read from the users row by another statement, for the rest of the current request.</summary>
    public void Remember(Guid userId, UserTier tier)
    {
        if (requests.HttpContext is { } http) http.Items[new TierKey(userId)] = tier;
    }

    private UserTier? Remembered(Guid userId) =>
        requests.HttpContext is { } http && http.Items.TryGetValue(new TierKey(userId), out var tier) ? (UserTier)tier! : null;

    private readonly record struct TierKey(Guid UserId);

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
