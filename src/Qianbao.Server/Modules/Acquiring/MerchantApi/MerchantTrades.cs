using System.Globalization;
using System.Text;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Merchants.Accounts;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Acquiring.MerchantApi;

/// <summary>
/// The merchant's own trades, for every staff role. <c>GET /merchant/v1/trades?status=&amp;from=&amp;to=&amp;limit=&amp;cursor=</c> →
/// <c>{items:[trade], next_cursor}</c>, newest first: <c>status</c> one of <c>WAIT_BUYER_PAY</c>, <c>TRADE_SUCCESS</c>,
/// <c>TRADE_FINISHED</c>, <c>TRADE_CLOSED</c> (as the gateway names them; an unpaid trade past its deadline counts as closed);
/// <c>from</c> (inclusive) and <c>to</c> (exclusive) RFC 3339 instants on the creation time; <c>limit</c> 1..100 (20);
/// <c>cursor</c> the previous page's <c>next_cursor</c> (null on the last page). <c>GET /merchant/v1/trades/{trade_no}</c> →
/// the trade and its refunds; another merchant's trade is 404, as is one that does not exist.
/// </summary>
internal static class MerchantTrades
{
    public const int LimitDefault = 20;
    public const int LimitMax = 100;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/merchant/v1/trades", ListAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");
        app.MapGet("/merchant/v1/trades/{trade_no}", GetAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");
    }

    private static async Task<IResult> ListAsync(HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        var q = http.Request.Query;
        var status = q["status"].ToString();
        if (status.Length > 0 && status is not (TradeStatus.WaitBuyerPay or TradeStatus.Success or TradeStatus.Finished or TradeStatus.Closed))
            return ApiProblem.BadRequest(ErrorCodes.InvalidStatus, "status must be WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_FINISHED or TRADE_CLOSED.");
        if (!TryInstant(q["from"].ToString(), long.MinValue, out var fromUs) || !TryInstant(q["to"].ToString(), long.MaxValue, out var toUs))
            return ApiProblem.BadRequest(ErrorCodes.InvalidTime, "from and to must be RFC 3339 instants such as 2026-01-31T16:00:00Z.");
        if (!PageLimit.TryRead(q["limit"], LimitDefault, LimitMax, out var limit, out var limitProblem)) return limitProblem;
        (long CreatedUs, string TradeNo)? after = null;
        if (q["cursor"].ToString() is { Length: > 0 } c)
        {
            if (DecodeCursor(c) is not { } decoded) return ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "cursor must be a next_cursor this endpoint returned.");
            after = decoded;
        }
        var nowUs = clock.GetUnixMicroseconds();
        var sql = new StringBuilder($"SELECT {TradeRow.Columns} FROM trades WHERE merchant_id = @merchantId AND created_at_us >= @fromUs AND created_at_us < @toUs");
        sql.Append(status switch
        {
            "" => "",
            TradeStatus.WaitBuyerPay => " AND status = @status AND expires_at_us > @nowUs",
            TradeStatus.Closed => " AND (status = @status OR (status = 'WAIT_BUYER_PAY' AND expires_at_us <= @nowUs))",
            _ => " AND status = @status",
        });
        if (after is not null) sql.Append(" AND (created_at_us < @afterUs OR (created_at_us = @afterUs AND trade_no < @afterNo))");
        sql.Append(" ORDER BY created_at_us DESC, trade_no DESC LIMIT @take");
        await using var connection = await db.OpenAsync(ct);
        var rows = (await connection.QueryAsync<TradeRow>(new CommandDefinition(sql.ToString(), new
        {
            merchantId = http.Merchant().MerchantId, fromUs, toUs, status, nowUs, afterUs = after?.CreatedUs ?? 0, afterNo = after?.TradeNo ?? "", take = limit + 1,
        }, cancellationToken: ct))).AsList();
        var page = rows.Take(limit).ToList();
        var next = rows.Count > limit ? EncodeCursor(page[^1].created_at_us, page[^1].trade_no) : null;
        return Results.Json(new { items = page.Select(t => MerchantTradeJson.Of(t, nowUs)), next_cursor = next }, JsonDefaults.Options);
    }

    private static async Task<IResult> GetAsync(string trade_no, HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var t = await connection.QuerySingleOrDefaultAsync<TradeRow>(new CommandDefinition(
            $"SELECT {TradeRow.Columns} FROM trades WHERE trade_no = @trade_no AND merchant_id = @merchantId",
            new { trade_no, merchantId = http.Merchant().MerchantId }, cancellationToken: ct));
        if (t is null) return ApiProblem.NotFound();
        var refunds = await connection.QueryAsync<(string OutRequestNo, long Amount, long CreatedAtUs)>(new CommandDefinition(
            "SELECT out_request_no, refund_amount, created_at_us FROM trade_refunds WHERE trade_no = @trade_no ORDER BY created_at_us, out_request_no",
            new { trade_no }, cancellationToken: ct));
        var nowUs = clock.GetUnixMicroseconds();
        return Results.Json(new
        {
            trade = MerchantTradeJson.Of(t, nowUs),
            refunds = refunds.Select(r => new { out_request_no = r.OutRequestNo, amount = r.Amount, created_at = TimeProviderExtensions.FromUnixMicroseconds(r.CreatedAtUs) }),
        }, JsonDefaults.Options);
    }

    private static bool TryInstant(string text, long unset, out long us)
    {
        us = unset;
        if (text.Length == 0) return true;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at) || !text.Contains('T')) return false;
        us = at.ToUnixMicroseconds();
        return true;
    }

    private static string EncodeCursor(long createdUs, string tradeNo) =>
        System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(createdUs.ToString(CultureInfo.InvariantCulture) + "." + tradeNo));

    private static (long, string)? DecodeCursor(string cursor)
    {
        if (cursor.Length > 200) return null;
        var bytes = new byte[cursor.Length];
        if (System.Buffers.Text.Base64Url.DecodeFromChars(cursor, bytes, out _, out var written) != System.Buffers.OperationStatus.Done) return null;
        var text = Encoding.UTF8.GetString(bytes, 0, written);
        var dot = text.IndexOf('.');
        if (dot <= 0 || !long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var us)) return null;
        var no = text[(dot + 1)..];
        return no.Length is > 0 and <= 64 && no.All(char.IsAsciiLetterOrDigit) ? (us, no) : null;
    }
}
