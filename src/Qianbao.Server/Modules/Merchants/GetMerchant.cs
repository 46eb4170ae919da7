using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Merchants;

/// <summary><c>GET /admin/v1/merchants/{id}</c> → the merchant, its apps and its settlement balances per currency.</summary>
internal static class GetMerchant
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/admin/v1/merchants/{id}", HandleAsync).RequireOperator(OperatorRole.Risk, OperatorRole.Support, OperatorRole.Finance).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, Db db, LedgerAccounts ledger, MerchantData data, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var merchantId)) return ApiProblem.NotFound();
        await using var connection = await db.OpenAsync(ct);
        var m = await connection.QuerySingleOrDefaultAsync<MerchantRow>(new CommandDefinition(
            $"SELECT {MerchantRow.Columns} FROM merchants WHERE id = @id", new { id = merchantId }, cancellationToken: ct));
        if (m is null) return ApiProblem.NotFound();
        var apps = (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT app_id FROM merchant_apps WHERE merchant_id = @id ORDER BY created_at_us", new { id = merchantId }, cancellationToken: ct))).AsList();
        // Returned before the ledger read takes a connection of its own: holding one while taking another starves the pool.
        await connection.DisposeAsync();
        var accounts = await ledger.OwnedAsync(merchantId, AccountCodes.MerchantSettlement, ct);
        return Results.Json(new
        {
            id = m.id, name = m.name, licence_no = m.licence_enc is { } licence ? data.Open(m.id, "licence_enc", licence) : m.licence_no,
            legal_person = data.Open(m.id, "legal_person", m.legal_person), fee_bps = m.fee_bps, status = m.status,
            created_at = TimeProviderExtensions.FromUnixMicroseconds(m.created_at_us),
            app_ids = apps,
            settlement = accounts.OrderBy(a => a.Currency.Code, StringComparer.Ordinal).Select(a => new
            {
                currency = a.Currency.Code, available = a.CreditBalanceAvailable, frozen = a.DebitsPending, pending_in = a.CreditsPending,
            }),
        }, JsonDefaults.Options);
    }
}
