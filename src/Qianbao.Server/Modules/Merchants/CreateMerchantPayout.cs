using Qianbao.Server.Http;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>
/// <c>POST /admin/v1/merchants/{id}/payouts</c> <c>{amount, currency}</c> → 202 <c>{id, status:"pending"}</c>: pays a
/// merchant's settlement balance out to its bank through the funding channel, by the withdrawal flow (a hold on
/// the settlement account, posted when the bank pays, voided if it fails). Requires an Idempotency-Key.
/// <c>GET /admin/v1/merchants/{id}/payouts/{payout_id}</c> tells what became of it. Frozen (profit-sharing) proceeds
/// are held and cannot be paid out.
/// </summary>
internal static class CreateMerchantPayout
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/admin/v1/merchants/{id}/payouts", async (string id, HttpContext http, Idempotency idempotency, MoneyMovement money,
            LedgerAccounts accounts, IFundingChannel channel, TimeProvider clock, MerchantDirectory merchants, CancellationToken ct) =>
        {
            if (!Guid.TryParse(id, out var merchantId) || !await merchants.ExistsAsync(merchantId, ct)) return ApiProblem.NotFound();
            return await ChannelHoldFlow.HandleAsync(ChannelOrderKind.Payout, merchantId, currency => ChartOfAccounts.MerchantSettlement(merchantId, currency),
                http, idempotency, money, accounts, channel, clock, ct);
        }).RequireOperator(OperatorRole.Finance).WithTags("Operator");

        app.MapGet("/admin/v1/merchants/{id}/payouts/{payoutId}", async (string id, string payoutId, LedgerStore store, CancellationToken ct) =>
        {
            if (!Guid.TryParse(id, out var merchantId)) return ApiProblem.NotFound();
            return await GetChannelHold.GetHoldAsync(payoutId, store, TransferCodes.Withdrawal,
                currency => ChartOfAccounts.MerchantSettlement(merchantId, currency).Id, ct);
        }).RequireOperator(OperatorRole.Finance).WithTags("Operator");
    }
}

/// <summary>Whether a merchant exists, for operator routes that take a merchant id; its business name for buyers' screens.</summary>
internal sealed class MerchantDirectory(Storage.Db db)
{
    /// <summary>The business name (not personal data, stored in clear), or null for no such merchant.</summary>
    public async Task<string?> NameAsync(Guid merchantId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await Dapper.SqlMapper.QuerySingleOrDefaultAsync<string?>(connection, new Dapper.CommandDefinition(
            "SELECT name FROM merchants WHERE id = @id", new { id = merchantId }, cancellationToken: ct));
    }

    public async Task<bool> ExistsAsync(Guid merchantId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, new Dapper.CommandDefinition(
            "SELECT count(*) FROM merchants WHERE id = @id", new { id = merchantId }, cancellationToken: ct)) == 1;
    }

    /// <summary>Whether the merchant exists and an operator verified it (only verified merchants take money).</summary>
    public async Task<bool> IsVerifiedAsync(Guid merchantId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await Dapper.SqlMapper.QuerySingleOrDefaultAsync<string?>(connection, new Dapper.CommandDefinition(
            "SELECT status FROM merchants WHERE id = @id", new { id = merchantId }, cancellationToken: ct)) == MerchantRow.Verified;
    }
}
