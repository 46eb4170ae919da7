using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/notify-deliveries?status=&amp;limit=&amp;cursor=</c>: the asynchronous notifications sent to the shop's notify
/// URLs, newest first (<c>GET /merchant/v1/notify-deliveries</c>, the API's cursor for more), and replaying a delivered or
/// failed one (<c>POST /merchant/v1/notify-deliveries/{id}/replay</c>, admins). A replay of a queued one changes nothing
/// (the API's rule), so a double submit sends once; the filter goes to the API as chosen, so a bad one shows its refusal.
/// </summary>
public sealed class NotifyDeliveriesModel : MerchantPage
{
    public const int PageSize = 20;

    public static readonly string[] Statuses = ["pending", "delivered", "failed"];

    [BindProperty(SupportsGet = true)] public string? Status { get; set; }
    [BindProperty(SupportsGet = true)] public string? Cursor { get; set; }
    [BindProperty(SupportsGet = true)] public string? Limit { get; set; }

    public sealed record Delivery(string Id, string NotifyId, string TradeNo, string NotifyType, string Event, string Url, string Status, long Attempts,
        string LastHttpStatus, string LastError, string NextAttemptAt, string CreatedAt, string DeliveredAt)
    {
        /// <summary>The API replays delivered and failed ones; a queued one is on its way already.</summary>
        public bool Replayable => Status is "delivered" or "failed";
    }

    public IReadOnlyList<Delivery> Items { get; private set; } = [];

    public string? NextLink { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? replayed, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (!string.IsNullOrEmpty(replayed)) DoneMessage = T("merchant.deliveries.replayed");
        return await ListAsync(ct) ?? Page();
    }

    public async Task<IActionResult> OnPostReplayAsync(string? id, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync($"/merchant/v1/notify-deliveries/{Uri.EscapeDataString(id ?? "")}/replay", null, Token, ct);
        if (answer.Ok)
            return Redirect(QueryHelpers.AddQueryString("/merchant/notify-deliveries", Filter(new Dictionary<string, string?> { ["replayed"] = answer.Text("id") })));
        if (Failed(answer)) return ToLogin();
        return await ShowAgainAsync(ListAsync, ct);
    }

    private async Task<IActionResult?> ListAsync(CancellationToken ct)
    {
        var query = new Dictionary<string, string?> { ["limit"] = string.IsNullOrEmpty(Limit) ? PageSize.ToString(CultureInfo.InvariantCulture) : Limit };
        if (!string.IsNullOrEmpty(Status)) query["status"] = Status;
        if (!string.IsNullOrEmpty(Cursor)) query["cursor"] = Cursor;
        var (answer, relogin) = await GetOrLoginAsync(QueryHelpers.AddQueryString("/merchant/v1/notify-deliveries", query), ct);
        if (relogin is not null) return relogin;
        if (!answer.Ok) return null;
        Items = answer.Items().Select(e => new Shared.ApiAnswer(200, e)).Select(d => new Delivery(d.Text("id"), d.Text("notify_id"), d.Text("trade_no"),
            d.Text("notify_type"), d.Text("event"), d.Text("url"), d.Text("status"), d.Number("attempts"), d.Text("last_http_status"), d.Text("last_error"),
            d.Text("next_attempt_at"), d.Text("created_at"), d.Text("delivered_at"))).ToList();
        if (answer.Text("next_cursor") is { Length: > 0 } next)
            NextLink = QueryHelpers.AddQueryString("/merchant/notify-deliveries", Filter(new Dictionary<string, string?> { ["cursor"] = next }));
        return null;
    }

    /// <summary>The page's filter (status, page size) added to <paramref name="query"/>, for links that keep it.</summary>
    private Dictionary<string, string?> Filter(Dictionary<string, string?> query)
    {
        if (!string.IsNullOrEmpty(Status)) query["status"] = Status;
        if (!string.IsNullOrEmpty(Limit)) query["limit"] = Limit;
        return query;
    }
}
