using System.Data.Common;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// Who follows which merchant (<c>merchant_follows</c>): only a follower receives a merchant's service messages (服务窗).
/// Following is the person's own act; paying a merchant does not follow it. Other modules (campaign segments'
/// <c>follows_merchant_id</c>) ask <see cref="FollowersAsync"/>.
/// </summary>
internal sealed class MerchantFollows(Db db, TimeProvider clock)
{
    public const int PageMax = 10_000;

    /// <summary>Follows (idempotent: the first follow's time stands).</summary>
    public async Task<DateTimeOffset> FollowAsync(Guid userId, Guid merchantId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO merchant_follows (user_id, merchant_id, followed_at_us) VALUES (@userId, @merchantId, @nowUs)
            ON CONFLICT (user_id, merchant_id) DO NOTHING
            """, new { userId, merchantId, nowUs = clock.GetUnixMicroseconds() }, tx, cancellationToken: ct));
        var at = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT followed_at_us FROM merchant_follows WHERE user_id = @userId AND merchant_id = @merchantId", new { userId, merchantId }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        return TimeProviderExtensions.FromUnixMicroseconds(at);
    }

    /// <summary>Unfollows; true when there was a follow.</summary>
    public async Task<bool> UnfollowAsync(Guid userId, Guid merchantId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM merchant_follows WHERE user_id = @userId AND merchant_id = @merchantId", new { userId, merchantId }, cancellationToken: ct)) > 0;
    }

    /// <summary>Whether the person follows the merchant, read in the caller's transaction (the sending one).</summary>
    public static async Task<bool> FollowsAsync(DbConnection connection, DbTransaction? tx, Guid userId, Guid merchantId, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM merchant_follows WHERE user_id = @userId AND merchant_id = @merchantId", new { userId, merchantId }, tx, cancellationToken: ct)) > 0;

    /// <summary>How many people follow the merchant.</summary>
    public async Task<long> CountAsync(Guid merchantId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM merchant_follows WHERE merchant_id = @merchantId", new { merchantId }, cancellationToken: ct));
    }

    /// <summary>The followers of a merchant with when they followed, in user id order after <paramref name="afterUserId"/> (for the merchant's list).</summary>
    public async Task<IReadOnlyList<(Guid UserId, long FollowedAtUs)>> PageAsync(Guid merchantId, Guid? afterUserId, int limit, CancellationToken ct)
    {
        if (limit is < 1 or > PageMax) throw new ArgumentOutOfRangeException(nameof(limit));
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<(Guid, long)>(new CommandDefinition($"""
            SELECT user_id, followed_at_us FROM merchant_follows WHERE merchant_id = @merchantId {(afterUserId is null ? "" : "AND user_id > @afterUserId")}
            ORDER BY user_id LIMIT @limit
            """, new { merchantId, afterUserId, limit }, cancellationToken: ct))).AsList();
    }

    /// <summary>The followers of a merchant, a page at a time in user id order after <paramref name="afterUserId"/> (for segments).</summary>
    public async Task<IReadOnlyList<Guid>> FollowersAsync(Guid merchantId, Guid? afterUserId, int limit, CancellationToken ct)
    {
        if (limit is < 1 or > PageMax) throw new ArgumentOutOfRangeException(nameof(limit));
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<Guid>(new CommandDefinition($"""
            SELECT user_id FROM merchant_follows WHERE merchant_id = @merchantId {(afterUserId is null ? "" : "AND user_id > @afterUserId")}
            ORDER BY user_id LIMIT @limit
            """, new { merchantId, afterUserId, limit }, cancellationToken: ct))).AsList();
    }
}

/// <summary>
/// <c>POST /v1/merchants/{id}/follow</c> → <c>{merchant_id, following:true, followed_at}</c> (idempotent);
/// <c>DELETE /v1/merchants/{id}/follow</c> → <c>{merchant_id, following:false}</c> (also when not following). No such
/// merchant → 404.
/// </summary>
internal static class FollowMerchant
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/merchants/{id}/follow", FollowAsync).RequireUser().WithTags("Notifications");
        app.MapDelete("/v1/merchants/{id}/follow", UnfollowAsync).RequireUser().WithTags("Notifications");
    }

    private static async Task<IResult> FollowAsync(string id, HttpContext http, MerchantDirectory merchants, MerchantFollows follows, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var merchantId) || !await merchants.ExistsAsync(merchantId, ct)) return ApiProblem.NotFound("No such merchant.");
        var at = await follows.FollowAsync(http.UserId(), merchantId, ct);
        return Results.Json(new { merchant_id = merchantId, following = true, followed_at = at }, JsonDefaults.Options);
    }

    private static async Task<IResult> UnfollowAsync(string id, HttpContext http, MerchantDirectory merchants, MerchantFollows follows, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var merchantId) || !await merchants.ExistsAsync(merchantId, ct)) return ApiProblem.NotFound("No such merchant.");
        await follows.UnfollowAsync(http.UserId(), merchantId, ct);
        return Results.Json(new { merchant_id = merchantId, following = false }, JsonDefaults.Options);
    }
}
