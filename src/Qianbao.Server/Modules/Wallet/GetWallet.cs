using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Wallet;

/// <summary><c>GET /v1/wallet</c> → <c>{balances:[{currency, available, pending_in, pending_out}]}</c>, one per currency held.</summary>
internal static class GetWallet
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/wallet", HandleAsync).RequireUser().WithTags("Wallet");

    private static async Task<IResult> HandleAsync(HttpContext http, LedgerAccounts ledger, CancellationToken ct)
    {
        var wallets = await ledger.OwnedAsync(http.UserId(), AccountCodes.UserWallet, ct);
        // Points live in accounts of their own code (GET /v1/points), never in a wallet; the filter keeps it so.
        var balances = wallets.Where(a => a.Currency.IsMoney).Select(a => new
        {
            currency = a.Currency.Code, available = a.CreditBalanceAvailable, pending_in = a.CreditsPending, pending_out = a.DebitsPending,
        });
        return Results.Json(new { balances }, JsonDefaults.Options);
    }
}
