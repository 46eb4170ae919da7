using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;

namespace Qianbao.Server.Modules.Wallet;

/// <summary><c>GET /v1/transfers/{id}</c>: a person-to-person transfer, readable only by its two parties (404 for anyone else).</summary>
internal static class GetTransfer
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/transfers/{id}", HandleAsync).RequireUser().WithTags("Transfers");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, LedgerStore store, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var guid)) return ApiProblem.NotFound();
        var transfer = await store.GetTransferAsync(new TransferId(guid), ct);
        if (transfer is null || transfer.Code != TransferCodes.PeerTransfer) return ApiProblem.NotFound();
        var wallet = ChartOfAccounts.UserWallet(http.UserId(), transfer.Currency).Id;
        var outgoing = transfer.DebitAccountId == wallet;
        if (!outgoing && transfer.CreditAccountId != wallet) return ApiProblem.NotFound();
        return Results.Json(new
        {
            id = guid,
            status = "completed",
            direction = outgoing ? "out" : "in",
            amount = transfer.Amount,
            currency = transfer.Currency.Code,
            note = transfer.Reference,
            created_at = TimeProviderExtensions.FromUnixMicroseconds(transfer.TimestampUs),
        }, JsonDefaults.Options);
    }
}
