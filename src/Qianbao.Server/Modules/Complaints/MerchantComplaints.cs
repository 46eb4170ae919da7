using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Merchants.Accounts;

namespace Qianbao.Server.Modules.Complaints;

/// <summary>
/// The complaints users filed about a merchant's trades, for every staff role of that merchant.
/// <c>GET /merchant/v1/complaints?status=&amp;limit=&amp;cursor=</c> → <c>{items:[complaint], next_cursor}</c>, newest first:
/// <c>status</c> one of <c>open</c>, <c>in_progress</c>, <c>refunded</c>, <c>rejected</c>; <c>limit</c> 1..100 (20);
/// <c>cursor</c> the previous page's <c>next_cursor</c> (null on the last page). <c>GET /merchant/v1/complaints/{id}</c> → the
/// complaint with its replies (each <c>from</c> <c>merchant</c> or <c>support</c>). The user is shown only by their masked
/// name (<c>user_name</c>), never their id; another merchant's complaint (or one about a transfer) is 404.
/// </summary>
internal static class MerchantComplaints
{
    public const int LimitDefault = 20;
    public const int LimitMax = 100;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/merchant/v1/complaints", ListAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");
        app.MapGet("/merchant/v1/complaints/{id}", GetAsync).RequireMerchant(MerchantRole.Cashier, MerchantRole.Analyst).WithTags("Merchant");
    }

    private static async Task<IResult> ListAsync(HttpContext http, ComplaintStore store, UserDirectory users, CancellationToken ct)
    {
        var q = http.Request.Query;
        ComplaintStatus? status = null;
        if (q["status"].ToString() is { Length: > 0 } s)
        {
            if (!ComplaintNames.TryParseStatus(s, out var parsed))
                return ApiProblem.BadRequest(ErrorCodes.InvalidStatus, "status must be open, in_progress, refunded or rejected.");
            status = parsed;
        }
        if (!PageLimit.TryRead(q["limit"], LimitDefault, LimitMax, out var limit, out var limitProblem)) return limitProblem;
        (long, Guid)? after = null;
        if (q["cursor"].ToString() is { Length: > 0 } c)
        {
            if (DecodeCursor(c) is not { } decoded) return ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "cursor must be a next_cursor this endpoint returned.");
            after = decoded;
        }
        var rows = await store.ListForMerchantAsync(http.Merchant().MerchantId, status, limit + 1, after, ct);
        var page = rows.Take(limit).ToList();
        var names = await users.MaskedNamesAsync(page.Select(r => r.user_id).Distinct().ToList(), ct);
        var next = rows.Count > limit ? EncodeCursor(page[^1].created_at_us, page[^1].id) : null;
        return Results.Json(new { items = page.Select(r => Body(r, names.GetValueOrDefault(r.user_id) ?? "", null)), next_cursor = next }, JsonDefaults.Options);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext http, ComplaintStore store, UserDirectory users, CancellationToken ct)
    {
        if (await FindOwnAsync(store, id, http.Merchant().MerchantId, ct) is not { } row) return ApiProblem.NotFound();
        return Results.Json(await BodyAsync(store, users, row, ct), JsonDefaults.Options);
    }

    /// <summary>The complaint <paramref name="id"/> when it is about one of <paramref name="merchantId"/>'s trades, else null.</summary>
    public static async Task<ComplaintRow?> FindOwnAsync(ComplaintStore store, string id, Guid merchantId, CancellationToken ct) =>
        Guid.TryParse(id, out var complaintId) && await store.FindAsync(complaintId, ct) is { } row && row.merchant_id == merchantId ? row : null;

    /// <summary>The merchant's view of a complaint with its replies.</summary>
    public static async Task<object> BodyAsync(ComplaintStore store, UserDirectory users, ComplaintRow row, CancellationToken ct) =>
        Body(row, (await users.MaskedNamesAsync([row.user_id], ct)).GetValueOrDefault(row.user_id) ?? "", await store.RepliesAsync(row.id, ct));

    private static object Body(ComplaintRow c, string userName, IReadOnlyList<ReplyRow>? replies) => new
    {
        id = c.id, user_name = userName, status = ComplaintNames.Of(c.Status), category = ComplaintNames.Of((ComplaintCategory)c.category),
        trade_no = c.trade_no, text = c.text, refund_amount = c.refund_amount, currency = c.currency, resolution_note = c.resolution_note,
        created_at = TimeProviderExtensions.FromUnixMicroseconds(c.created_at_us),
        updated_at = TimeProviderExtensions.FromUnixMicroseconds(c.updated_at_us),
        resolved_at = c.resolved_at_us is { } us ? TimeProviderExtensions.FromUnixMicroseconds(us) : (DateTimeOffset?)null,
        replies = replies?.Select(r => new { id = r.id, from = r.From, text = r.text, created_at = TimeProviderExtensions.FromUnixMicroseconds(r.created_at_us) }),
    };

    private static string EncodeCursor(long createdUs, Guid id) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(createdUs.ToString(CultureInfo.InvariantCulture) + "." + id.ToString("N")));

    private static (long, Guid)? DecodeCursor(string cursor)
    {
        if (cursor.Length > 200) return null;
        var bytes = new byte[cursor.Length];
        if (Base64Url.DecodeFromChars(cursor, bytes, out _, out var written) != System.Buffers.OperationStatus.Done) return null;
        var text = Encoding.UTF8.GetString(bytes, 0, written);
        var dot = text.IndexOf('.');
        return dot > 0 && long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var us)
            && Guid.TryParseExact(text.AsSpan(dot + 1), "N", out var id) ? (us, id) : null;
    }
}
