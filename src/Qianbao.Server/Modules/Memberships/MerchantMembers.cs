using System.Globalization;
using System.Text;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Merchants.Accounts;

namespace Qianbao.Server.Modules.Memberships;

/// <summary>
/// <c>GET /merchant/v1/member-programme</c> (every staff role) → <c>{items:[{template_id, name, card_type, levels:[{level,
/// name, description, min_spend_12m, points_multiplier_bps}], members, created_at}]}</c>: the merchant's member programmes
/// (made through the gateway's <c>alipay.marketing.card.template.create</c>), oldest first; an empty list when it has none.
/// </summary>
internal static class GetMemberProgramme
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/merchant/v1/member-programme", HandleAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");

    private static async Task<IResult> HandleAsync(HttpContext http, Memberships memberships, CancellationToken ct)
    {
        var items = (await memberships.TemplatesOfAsync(http.Merchant().MerchantId, ct)).Select(t => new
        {
            template_id = t.id.ToString("N"), name = t.name, card_type = t.card_type, levels = t.Levels.Select(MembershipBodies.Level).ToArray(),
            created_at = TimeProviderExtensions.FromUnixMicroseconds(t.created_at_us),
        });
        return Results.Json(new { items }, JsonDefaults.Options);
    }
}

/// <summary>
/// <c>GET /merchant/v1/members?limit=&amp;cursor=</c> (every staff role) → <c>{items:[{biz_card_no, template_id, name, level,
/// level_name, spend_12m, opened_at}], next_cursor}</c>: the cards of the merchant's programmes, newest first; <c>name</c> is
/// the member's masked name (as Identity's directory shows one person to another), <c>level</c> the level their spend at the
/// merchant over the last 12 months (payments less refunds, fen) reaches now. <c>limit</c> 1..100 (20); <c>cursor</c> the
/// previous page's <c>next_cursor</c> (null on the last page). 400 <c>invalid_limit</c>, <c>invalid_cursor</c>.
/// </summary>
internal static class ListMerchantMembers
{
    public const int LimitDefault = 20;
    public const int LimitMax = 100;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/merchant/v1/members", HandleAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");

    private static async Task<IResult> HandleAsync(HttpContext http, Memberships memberships, UserDirectory users, TimeProvider clock, CancellationToken ct)
    {
        var q = http.Request.Query;
        if (!PageLimit.TryRead(q["limit"], LimitDefault, LimitMax, out var limit, out var limitProblem)) return limitProblem;
        (long, string)? after = null;
        if (q["cursor"].ToString() is { Length: > 0 } c)
        {
            if (DecodeCursor(c) is not { } decoded) return ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "cursor must be a next_cursor this endpoint returned.");
            after = decoded;
        }
        var merchantId = http.Merchant().MerchantId;
        var rows = await memberships.CardsAtAsync(merchantId, after, limit + 1, ct);
        var page = rows.Take(limit).ToList();
        var templates = (await memberships.TemplatesOfAsync(merchantId, ct)).ToDictionary(t => t.id);
        var names = await users.MaskedNamesAsync(page.Select(p => p.user_id).Distinct().ToList(), ct);
        var nowUs = clock.GetUnixMicroseconds();
        var items = new List<object>();
        foreach (var card in page)
        {
            var spend = Math.Max(0, await memberships.Spend12MonthsAsync(merchantId, card.user_id, nowUs + 1, ct));
            var level = templates.TryGetValue(card.template_id, out var t) ? Memberships.LevelFor(t.Levels, spend) : null;
            items.Add(new
            {
                biz_card_no = card.biz_card_no, template_id = card.template_id.ToString("N"), name = names.GetValueOrDefault(card.user_id, ""),
                level = level?.Level, level_name = level?.Name, spend_12m = spend, opened_at = TimeProviderExtensions.FromUnixMicroseconds(card.opened_at_us),
            });
        }
        var next = rows.Count > limit ? EncodeCursor(page[^1].opened_at_us, page[^1].biz_card_no) : null;
        return Results.Json(new { items, next_cursor = next }, JsonDefaults.Options);
    }

    private static string EncodeCursor(long openedUs, string cardNo) =>
        System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(openedUs.ToString(CultureInfo.InvariantCulture) + "." + cardNo));

    private static (long, string)? DecodeCursor(string cursor)
    {
        if (cursor.Length > 200) return null;
        var bytes = new byte[cursor.Length];
        if (System.Buffers.Text.Base64Url.DecodeFromChars(cursor, bytes, out _, out var written) != System.Buffers.OperationStatus.Done) return null;
        var text = Encoding.UTF8.GetString(bytes, 0, written);
        var dot = text.IndexOf('.');
        if (dot <= 0 || !long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var us)) return null;
        var no = text[(dot + 1)..];
        return no.Length is > 0 and <= 32 && no.All(char.IsAsciiDigit) ? (us, no) : null;
    }
}
