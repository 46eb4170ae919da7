using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// How other modules learn whether a person exists: the users table is this module's own, so nobody else
/// queries it. Each call takes one pooled connection and releases it before returning.
/// </summary>
public sealed class UserDirectory(Db db)
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
}
