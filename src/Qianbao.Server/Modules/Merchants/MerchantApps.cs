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

    /// <summary>The merchant's apps, oldest first (the native merchant API's <c>GET /merchant/v1/apps</c>).</summary>
    public async Task<IReadOnlyList<AppRow>> ListAsync(Guid merchantId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<AppRow>(new CommandDefinition(
            "SELECT app_id, public_key_pem, notify_url, status, created_at_us FROM merchant_apps WHERE merchant_id = @merchantId ORDER BY created_at_us, app_id",
            new { merchantId }, cancellationToken: ct))).AsList();
    }

    /// <summary>Sets an app's default notify URL; false when the merchant has no such app (another merchant's app is not there).</summary>
    public async Task<bool> SetNotifyUrlAsync(Guid merchantId, string appId, string notifyUrl, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE merchant_apps SET notify_url = @notifyUrl WHERE app_id = @appId AND merchant_id = @merchantId",
            new { appId, merchantId, notifyUrl }, cancellationToken: ct)) == 1;
    }

    /// <summary>
    /// Replaces the public key the gateway verifies the app's requests with (already validated by the caller); false when the
    /// merchant has no such app. The gateway reads the key with each request, so the next request is verified with the new key.
    /// </summary>
    public async Task<bool> SetPublicKeyAsync(Guid merchantId, string appId, string publicKeyPem, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE merchant_apps SET public_key_pem = @publicKeyPem WHERE app_id = @appId AND merchant_id = @merchantId",
            new { appId, merchantId, publicKeyPem }, cancellationToken: ct)) == 1;
    }

    /// <summary>True when the app belongs to the merchant.</summary>
    public async Task<bool> IsOwnAsync(Guid merchantId, string appId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM merchant_apps WHERE app_id = @appId AND merchant_id = @merchantId", new { appId, merchantId }, cancellationToken: ct)) == 1;
    }

    internal sealed class AppRow
    {
        public string app_id { get; init; } = "";
        public string public_key_pem { get; init; } = "";
        public string? notify_url { get; init; }
        public string status { get; init; } = "";
        public long created_at_us { get; init; }
    }
}
