using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;

namespace Qianbao.Server.Modules.Channels;

/// <summary><c>GET /v1/topups/{id}</c> and <c>GET /v1/withdrawals/{id}</c> → <c>{id, status, amount, currency, created_at}</c>; another user's id is 404.</summary>
internal static class GetChannelHold
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/topups/{id}", (string id, HttpContext http, LedgerStore store, CancellationToken ct) =>
            GetHoldAsync(id, store, TransferCodes.TopUp, c => ChartOfAccounts.UserWallet(http.UserId(), c).Id, ct)).RequireUser().WithTags("Top-ups");
        app.MapGet("/v1/withdrawals/{id}", (string id, HttpContext http, LedgerStore store, CancellationToken ct) =>
            GetHoldAsync(id, store, TransferCodes.Withdrawal, c => ChartOfAccounts.UserWallet(http.UserId(), c).Id, ct)).RequireUser().WithTags("Withdrawals");
    }

    /// <summary>Reads a channel hold of <paramref name="code"/> that the caller's account (per currency) is a party to.</summary>
    public static async Task<IResult> GetHoldAsync(string id, LedgerStore store, ushort code, Func<Currency, AccountId> callersAccount, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var guid)) return ApiProblem.NotFound();
        var hold = await store.GetTransferAsync(new TransferId(guid), ct);
        if (hold is null || hold.Code != code || !hold.Has(TransferFlags.Pending)) return ApiProblem.NotFound();
        var wallet = callersAccount(hold.Currency);
        if (hold.DebitAccountId != wallet && hold.CreditAccountId != wallet) return ApiProblem.NotFound();
        // A success that arrived after a (legacy) hold had lapsed was booked directly: to the caller, it succeeded.
        var succeededLate = hold.State == PendingState.Expired
            && await store.GetTransferAsync(Modules.Channels.ChannelOutcomeIds.LateSuccess(guid), ct) is not null;
        return Results.Json(new
        {
            id = guid,
            status = succeededLate ? HoldStatus.Name(PendingState.Posted) : HoldStatus.Name(hold.State),
            amount = hold.Amount,
            currency = hold.Currency.Code,
            created_at = TimeProviderExtensions.FromUnixMicroseconds(hold.TimestampUs),
        }, JsonDefaults.Options);
    }
}
