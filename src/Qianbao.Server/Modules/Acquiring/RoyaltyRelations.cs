using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// Which profit-sharing receivers (other merchants) an app has bound: only bound receivers may be paid shares of the
/// app's trades. Binding again is harmless.
/// </summary>
internal sealed class RoyaltyRelations(Db db, TimeProvider clock)
{
    public async Task BindAsync(string appId, IReadOnlyList<(Guid Receiver, string? Name, string? Memo)> receivers, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var now = clock.GetUnixMicroseconds();
        foreach (var (receiver, name, memo) in receivers)
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO royalty_relations (app_id, receiver_merchant_id, name, memo, created_at_us) VALUES (@appId, @receiver, @name, @memo, @now)
                ON CONFLICT (app_id, receiver_merchant_id) DO NOTHING
                """, new { appId, receiver, name, memo, now }, cancellationToken: ct));
    }

    public async Task<bool> IsBoundAsync(string appId, Guid receiver, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM royalty_relations WHERE app_id = @appId AND receiver_merchant_id = @receiver",
            new { appId, receiver }, cancellationToken: ct)) == 1;
    }
}
