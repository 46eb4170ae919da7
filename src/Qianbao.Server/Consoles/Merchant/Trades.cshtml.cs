using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/trades?status=&amp;from=&amp;to=&amp;limit=&amp;cursor=</c>: the shop's trades, newest first (<c>GET /merchant/v1/trades</c>), with
/// the API's cursor for the next page. From and to are China-time dates, both inclusive: the page turns them into the
/// API's instants (from's midnight, the midnight after to); a date it cannot read is passed on as typed for the API to refuse.
/// </summary>
public sealed class TradesModel : MerchantPage
{
    public const int PageSize = 20;

    public static readonly string[] Statuses = ["WAIT_BUYER_PAY", "TRADE_SUCCESS", "TRADE_FINISHED", "TRADE_CLOSED"];

    [BindProperty(SupportsGet = true)] public string? Status { get; set; }
    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Cursor { get; set; }

    /// <summary>Trades per page (the API's 1..100, 20 unless asked), kept across pages.</summary>
    [BindProperty(SupportsGet = true)] public string? Limit { get; set; }

    public sealed record TradeLine(string TradeNo, string Subject, string Status, long Total, long Refunded, string CreatedAt);

    public IReadOnlyList<TradeLine> Items { get; private set; } = [];

    public string? NextLink { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var query = new Dictionary<string, string?> { ["limit"] = string.IsNullOrEmpty(Limit) ? PageSize.ToString(CultureInfo.InvariantCulture) : Limit };
        if (!string.IsNullOrEmpty(Status)) query["status"] = Status;
        if (!string.IsNullOrEmpty(From)) query["from"] = Instant(From, 0);
        if (!string.IsNullOrEmpty(To)) query["to"] = Instant(To, 1);
        if (!string.IsNullOrEmpty(Cursor)) query["cursor"] = Cursor;
        var (answer, relogin) = await GetOrLoginAsync(QueryHelpers.AddQueryString("/merchant/v1/trades", query), ct);
        if (relogin is not null) return relogin;
        if (!answer.Ok) return Page();
        Items = answer.Items().Select(t => new TradeLine(t.GetProperty("trade_no").GetString() ?? "", t.GetProperty("subject").ToString(),
            t.GetProperty("status").GetString() ?? "", t.GetProperty("total_amount").GetInt64(), t.GetProperty("refunded_amount").GetInt64(),
            t.GetProperty("created_at").ToString())).ToList();
        if (answer.Text("next_cursor") is { Length: > 0 } next)
        {
            var link = new Dictionary<string, string?> { ["cursor"] = next };
            if (!string.IsNullOrEmpty(Status)) link["status"] = Status;
            if (!string.IsNullOrEmpty(From)) link["from"] = From;
            if (!string.IsNullOrEmpty(To)) link["to"] = To;
            if (!string.IsNullOrEmpty(Limit)) link["limit"] = Limit;
            NextLink = QueryHelpers.AddQueryString("/merchant/trades", link);
        }
        return Page();
    }

    private static string Instant(string date, int daysAfter) =>
        DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? MerchantFormat.DayStart(day.AddDays(daysAfter)) : date;
}
