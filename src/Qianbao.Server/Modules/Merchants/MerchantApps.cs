using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>What other modules and the gateway adapter may ask about a merchant's apps (the tables are this module's own).</summary>
internal sealed class MerchantApps(Db db)
{
    /// <summary>The app's default notify URL, or null when it has none or there is no such app.</summary>
    public async Task<string?> NotifyUrlAsync(string appId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            "SELECT notify_url FROM merchant_apps WHERE app_id = @appId", new { appId }, cancellationToken: ct));
    }

    /// <summary>The platform fee of the app's merchant, in basis points of each payment (the app must exist).</summary>
    public async Task<int> FeeBpsAsync(string appId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleAsync<int>(new CommandDefinition(
            "SELECT m.fee_bps FROM merchant_apps a JOIN merchants m ON m.id = a.merchant_id WHERE a.app_id = @appId", new { appId }, cancellationToken: ct));
    }
}
