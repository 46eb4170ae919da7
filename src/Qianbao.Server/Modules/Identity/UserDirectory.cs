using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// How other modules learn whether a person exists: the users table is this module's own, so nobody else
/// queries it. Each call takes one pooled connection and releases it before returning.
/// </summary>
internal sealed class UserDirectory(Db db)
{
    public async Task<bool> ExistsAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("SELECT id FROM users WHERE id = @userId",
            new { userId }, cancellationToken: ct)) is not null;
    }

    /// <param name="phone">Normalized by <see cref="PhoneNumber.TryNormalize"/>.</param>
    public async Task<Guid?> FindByPhoneAsync(string phone, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("SELECT id FROM users WHERE phone = @phone",
            new { phone }, cancellationToken: ct));
    }

    /// <summary>
    /// Masked display names (<see cref="Masks.Name"/>) of those of <paramref name="userIds"/> that are users (at most
    /// 1000 ids): the only form in which other modules show one person's name to another.
    /// </summary>
    public async Task<IReadOnlyDictionary<Guid, string>> MaskedNamesAsync(IReadOnlyCollection<Guid> userIds, CancellationToken ct)
    {
        Qianbao.Ledger.Invariant.That(userIds.Count <= 1000, "names are asked for at most 1000 users at once");
        if (userIds.Count == 0) return new Dictionary<Guid, string>();
        await using var connection = await db.OpenAsync(ct);
        var (idIn, ids) = db.IdIn("id", userIds);
        var rows = await connection.QueryAsync<(Guid Id, string Name)>(new CommandDefinition($"SELECT id, name FROM users WHERE {idIn}",
            new { ids }, cancellationToken: ct));
        return rows.ToDictionary(r => r.Id, r => Masks.Name(r.Name));
    }

    /// <summary>Where to reach a user and in which language: the phone (E.164) and the locale; null if there is no such user.</summary>
    public async Task<(string Phone, string Locale)?> ContactAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<(string Phone, string Locale)?>(new CommandDefinition(
            "SELECT phone, locale FROM users WHERE id = @userId", new { userId }, cancellationToken: ct));
        return row;
    }
}
