using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Qianbao.Server.Adapters.Alipay.Methods;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Adapters.Alipay.Bills;

/// <summary>
/// <c>alipay.data.dataservice.bill.downloadurl.query</c> (<c>bill_type</c> trade, <c>bill_date</c> yyyy-MM-dd, China
/// time) → <c>bill_download_url</c>: a URL signed with HMAC-SHA256 that expires after
/// <see cref="GatewayOptions.BillUrlLifetimeSeconds"/>. The URL serves a CSV of the app's trades paid that day.
/// </summary>
internal sealed class BillDownloadUrlQuery(BillUrls urls, TimeProvider clock) : IGatewayMethod
{
    public string Name => "alipay.data.dataservice.bill.downloadurl.query";

    public Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        if (c.Biz.Require("bill_type", 32, out var type) is { } e1) return Task.FromResult(e1);
        if (type != "trade") return Task.FromResult(GatewayResult.InvalidParameter("参数 bill_type 不合法"));
        if (c.Biz.Require("bill_date", 10, out var date) is { } e2) return Task.FromResult(e2);
        if (!DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            || day > DateOnly.FromDateTime(clock.GetUtcNow().ToOffset(AlipayTime.ChinaOffset).DateTime))
            return Task.FromResult(GatewayResult.InvalidParameter("参数 bill_date 不合法"));
        return Task.FromResult(GatewayResult.Success(Field.Of("bill_download_url", urls.Create(c.BaseUrl, c.App.app_id, day))));
    }
}

/// <summary>Signs and checks bill download URLs; the key is shared by every process on the database.</summary>
internal sealed class BillUrls(byte[] key, GatewayOptions options, TimeProvider clock)
{
    public string Create(string baseUrl, string appId, DateOnly day)
    {
        var expires = clock.GetUtcNow().AddSeconds(options.BillUrlLifetimeSeconds).ToUnixTimeSeconds();
        var d = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return $"{baseUrl}/v1/bills/trade?app_id={appId}&bill_date={d}&expires={expires}&sig={Sign(appId, d, expires)}";
    }

    public bool IsValid(string appId, string day, long expires, string sig) =>
        expires > clock.GetUtcNow().ToUnixTimeSeconds()
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(appId, day, expires)), Encoding.ASCII.GetBytes(sig));

    private string Sign(string appId, string day, long expires) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{appId}\n{day}\n{expires}")));
}

/// <summary><c>GET /v1/bills/trade?app_id&amp;bill_date&amp;expires&amp;sig</c>: the CSV bill behind a signed URL.</summary>
internal static class DownloadBill
{
    public const int RowsMax = 100_000;

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/bills/trade", HandleAsync).WithTags("Gateway");

    private static async Task<IResult> HandleAsync(string? app_id, string? bill_date, long? expires, string? sig, BillUrls urls, TradeStore trades, CancellationToken ct)
    {
        if (app_id is null || bill_date is null || expires is null || sig is null || !urls.IsValid(app_id, bill_date, expires.Value, sig)
            || !DateOnly.TryParseExact(bill_date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            return ApiProblem.Create(StatusCodes.Status403Forbidden, "invalid_bill_url", "The bill URL is invalid or has expired.");

        var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), AlipayTime.ChinaOffset);
        var rows = await trades.PaidBetweenAsync(app_id, start.ToUnixMicroseconds(), start.AddDays(1).ToUnixMicroseconds(), RowsMax, ct);

        var csv = new StringBuilder("trade_no,out_trade_no,trade_status,subject,total_amount,refund_amount,fee_amount,buyer_id,gmt_create,gmt_payment\n");
        foreach (var t in rows)
            csv.Append(string.Join(',', t.trade_no, Csv(t.out_trade_no), t.status, Csv(t.subject), TradeFields.Yuan(t.total_amount),
                TradeFields.Yuan(t.refunded_amount), TradeFields.Yuan(t.fee_amount), TradeFields.BuyerId(t), TradeFields.ChinaTime(t.created_at_us),
                TradeFields.ChinaTime(t.paid_at_us!.Value))).Append('\n');
        return Results.File(Encoding.UTF8.GetBytes(csv.ToString()), "text/csv; charset=utf-8", $"{app_id}_{bill_date}_trade.csv");
    }

    /// <summary>Quotes a field when needed, and defuses spreadsheet formulas in merchant-supplied text.</summary>
    private static string Csv(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@') value = "'" + value;
        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
