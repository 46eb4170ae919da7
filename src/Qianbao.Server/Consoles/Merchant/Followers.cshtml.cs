using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/followers?cursor=</c>: how many people follow the shop and a page of them, masked
/// (<c>GET /merchant/v1/followers</c>), each with a link to send them a service message.
/// </summary>
public sealed class FollowersModel : MerchantPage
{
    public const int PageSize = 20;

    [BindProperty(SupportsGet = true)] public string? Cursor { get; set; }

    public sealed record FollowerLine(string UserId, string UserName, string FollowedAt);

    public bool Listed { get; private set; }

    public long Count { get; private set; }

    public IReadOnlyList<FollowerLine> Items { get; private set; } = [];

    public string? NextLink { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? sent, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (!string.IsNullOrEmpty(sent)) DoneMessage = T("merchant.followers.sent");
        var query = new Dictionary<string, string?> { ["limit"] = PageSize.ToString(CultureInfo.InvariantCulture) };
        if (!string.IsNullOrEmpty(Cursor)) query["cursor"] = Cursor;
        var (answer, relogin) = await GetOrLoginAsync(QueryHelpers.AddQueryString("/merchant/v1/followers", query), ct);
        if (relogin is not null) return relogin;
        if (!answer.Ok) return Page();
        Listed = true;
        Count = answer.Number("count");
        Items = answer.Items().Select(f => new FollowerLine(f.GetProperty("user_id").ToString(), f.GetProperty("user_name").ToString(),
            f.GetProperty("followed_at").ToString())).ToList();
        if (answer.Text("next_cursor") is { Length: > 0 } next)
            NextLink = QueryHelpers.AddQueryString("/merchant/followers", "cursor", next);
        return Page();
    }
}
