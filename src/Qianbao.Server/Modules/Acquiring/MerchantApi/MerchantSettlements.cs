using System.Globalization;
using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Merchants.Accounts;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Acquiring.MerchantApi;

/// <summary>
/// <c>GET /merchant/v1/settlements?date=YYYY-MM-DD</c> → the merchant's statement of one China-time (UTC+8) day, in fen (CNY):
/// <c>{date, currency, payments:{count, amount}, refunds:{count, amount}, fees, net, payouts:{count, amount, items:[{id,
/// amount, status, created_at}]}}</c>. Payments are trades paid that day (their totals: what reached the settlement
/// account, coupons included), refunds those made that day, <c>fees</c> the platform fees charged that day less those
/// returned with refunds (from the ledger), <c>net</c> = payments − refunds − fees; payouts are the day's payouts to the bank
/// (<c>pending</c>, <c>posted</c>, <c>voided</c> or <c>expired</c>; <c>amount</c> counts the pending and posted ones). Every staff role may read it;
/// 400 <c>invalid_date</c>.
/// </summary>
internal static class MerchantSettlements
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/merchant/v1/settlements", HandleAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, LedgerHistory ledger, CancellationToken ct)
    {
        if (!DateOnly.TryParseExact(http.Request.Query["date"].ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            return ApiProblem.BadRequest(ErrorCodes.InvalidDate, "date must be a China-time calendar date, YYYY-MM-DD.");
        var merchantId = http.Merchant().MerchantId;
        var fromUs = MerchantTradeJson.ChinaDayStartUs(day);
        var toUs = MerchantTradeJson.ChinaDayStartUs(day.AddDays(1));
        const string currency = "CNY";
        (long Count, long Amount) payments, refunds;
        await using (var connection = await db.OpenAsync(ct))
        {
            payments = await connection.QuerySingleAsync<(long, long)>(new CommandDefinition("""
                SELECT COUNT(*), COALESCE(SUM(total_amount), 0) FROM trades
                WHERE merchant_id = @merchantId AND currency = @currency AND paid_at_us >= @fromUs AND paid_at_us < @toUs
                """, new { merchantId, currency, fromUs, toUs }, cancellationToken: ct));
            refunds = await connection.QuerySingleAsync<(long, long)>(new CommandDefinition("""
                SELECT COUNT(*), COALESCE(SUM(r.refund_amount), 0) FROM trade_refunds r JOIN trades t ON t.trade_no = r.trade_no
                WHERE t.merchant_id = @merchantId AND t.currency = @currency AND r.created_at_us >= @fromUs AND r.created_at_us < @toUs
                """, new { merchantId, currency, fromUs, toUs }, cancellationToken: ct));
        }
        long fees = 0;
        foreach (var e in await AllAsync(ledger, merchantId, TransferCodes.PlatformFee, fromUs, toUs, ct))
            fees += e.DebitOwnerId == merchantId ? e.Amount : -e.Amount;
        var payouts = (await AllAsync(ledger, merchantId, TransferCodes.Withdrawal, fromUs, toUs, ct)).OrderBy(e => e.Seq).ToList();
        return Results.Json(new
        {
            date = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), currency,
            payments = new { count = payments.Count, amount = payments.Amount },
            refunds = new { count = refunds.Count, amount = refunds.Amount },
            fees,
            net = payments.Amount - refunds.Amount - fees,
            payouts = new
            {
                count = payouts.Count,
                amount = payouts.Where(p => p.State is not (PendingState.Voided or PendingState.Expired)).Sum(p => p.Amount),
                items = payouts.Select(p => new
                {
                    id = p.Id, amount = p.Amount, status = p.State switch { PendingState.Posted => "posted", PendingState.Voided => "voided", PendingState.Expired => "expired", _ => "pending" },
                    created_at = Hosting.TimeProviderExtensions.FromUnixMicroseconds(p.TimestampUs),
                }),
            },
        }, JsonDefaults.Options);
    }

    /// <summary>Every entry of <paramref name="code"/> on the merchant's settlement accounts in the day, page by page.</summary>
    private static async Task<List<LedgerEntry>> AllAsync(LedgerHistory ledger, Guid merchantId, ushort code, long fromUs, long toUs, CancellationToken ct)
    {
        var all = new List<LedgerEntry>();
        var before = long.MaxValue;
        while (true)
        {
            var page = await ledger.PageAsync(new HistoryQuery(merchantId, AccountCodes.MerchantSettlement, before, code, fromUs, toUs, LedgerHistory.TakeMax), ct);
            all.AddRange(page.Where(e => e.Currency.Code == "CNY"));
            if (page.Count < LedgerHistory.TakeMax) return all;
            before = page[^1].Seq;
        }
    }
}
