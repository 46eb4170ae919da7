using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/complaints?status=&amp;cursor=</c>: the complaints users filed about the shop's trades, newest first
/// (<c>GET /merchant/v1/complaints</c>), with the API's cursor for the next page. A status the API does not know is passed on
/// for it to refuse.
/// </summary>
public sealed class ComplaintsModel : MerchantPage
{
    public const int PageSize = 20;

    public static readonly string[] Statuses = ["open", "in_progress", "refunded", "rejected"];

    [BindProperty(SupportsGet = true)] public string? Status { get; set; }
    [BindProperty(SupportsGet = true)] public string? Cursor { get; set; }

    public sealed record ComplaintLine(string Id, string UserName, string Category, string Text, string TradeNo, string Status, string CreatedAt);

    public IReadOnlyList<ComplaintLine> Items { get; private set; } = [];

    public string? NextLink { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var query = new Dictionary<string, string?> { ["limit"] = PageSize.ToString(CultureInfo.InvariantCulture) };
        if (!string.IsNullOrEmpty(Status)) query["status"] = Status;
        if (!string.IsNullOrEmpty(Cursor)) query["cursor"] = Cursor;
        var (answer, relogin) = await GetOrLoginAsync(QueryHelpers.AddQueryString("/merchant/v1/complaints", query), ct);
        if (relogin is not null) return relogin;
        if (!answer.Ok) return Page();
        Items = answer.Items().Select(c => new ComplaintLine(c.GetProperty("id").ToString(), c.GetProperty("user_name").ToString(),
            c.GetProperty("category").ToString(), c.GetProperty("text").ToString(), c.GetProperty("trade_no").ToString(), c.GetProperty("status").ToString(),
            c.GetProperty("created_at").ToString())).ToList();
        if (answer.Text("next_cursor") is { Length: > 0 } next)
        {
            var link = new Dictionary<string, string?> { ["cursor"] = next };
            if (!string.IsNullOrEmpty(Status)) link["status"] = Status;
            NextLink = QueryHelpers.AddQueryString("/merchant/complaints", link);
        }
        return Page();
    }
}
