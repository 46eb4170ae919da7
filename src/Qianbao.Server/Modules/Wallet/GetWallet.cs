using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Wallet;

/// <summary><c>GET /v1/wallet</c> → <c>{balances:[{currency, available, pending_in, pending_out}]}</c>, one per currency held.</summary>
public static class GetWallet
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/wallet", HandleAsync).RequireUser().WithTags("Wallet");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<BalanceRow>(new CommandDefinition("""
            SELECT currency, credits_posted - debits_posted - debits_pending AS available,
                   credits_pending AS pending_in, debits_pending AS pending_out
            FROM accounts WHERE owner_id = @owner AND code = @code ORDER BY currency
            """, new { owner = http.UserId(), code = (int)AccountCodes.UserWallet }, cancellationToken: ct));
        return Results.Json(new { balances = rows }, JsonDefaults.Options);
    }

    private sealed class BalanceRow
    {
        public string Currency { get; init; } = "";
        public long Available { get; init; }
        public long PendingIn { get; init; }
        public long PendingOut { get; init; }
    }
}
