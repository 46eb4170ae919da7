using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/history?type=&amp;from=&amp;to=&amp;cursor=</c>: <c>GET /v1/transactions</c> with its filters (dates are
/// China-time days, both inclusive) and its opaque cursor for the next page.
/// </summary>
public sealed class HistoryModel : WalletPage
{
    public static readonly string[] Types = ["topup", "withdrawal", "transfer", "payment", "refund", "red_packet", "red_packet_claim", "red_packet_refund"];

    [BindProperty(SupportsGet = true)] public string? Type { get; set; }
    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Cursor { get; set; }

    public IReadOnlyList<JsonElement> Items { get; private set; } = [];
    public string? NextLink { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var query = new Dictionary<string, string?> { ["limit"] = "20" };
        if (!string.IsNullOrEmpty(Type)) query["type"] = Type;
        if (ChinaDayStart(From) is { } from) query["from"] = from;
        if (ChinaDayStart(To, days: 1) is { } to) query["to"] = to;
        if (!string.IsNullOrEmpty(Cursor)) query["cursor"] = Cursor;
        var (answer, gone) = await LoadAsync(QueryHelpers.AddQueryString("/v1/transactions", query), ct);
        if (gone is not null) return gone;
        if (!answer.Ok) return Page();
        Items = [.. answer.Items()];
        if (answer.Text("next_cursor") is { Length: > 0 } next)
            NextLink = QueryHelpers.AddQueryString("/wallet/history", new Dictionary<string, string?> { ["type"] = Type, ["from"] = From, ["to"] = To, ["cursor"] = next }
                .Where(p => !string.IsNullOrEmpty(p.Value)));
        return Page();
    }
}
