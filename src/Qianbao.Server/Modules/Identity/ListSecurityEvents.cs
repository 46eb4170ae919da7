using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>GET /v1/me/security-events?limit=&amp;cursor=</c> → <c>{items:[{id, kind, device_id, client_address, detail,
/// created_at}], next_cursor}</c>: the account's security history (logins and their devices, failed logins, locks,
/// password and PIN changes, revoked sessions, identity and tier changes), newest first. The cursor is the
/// (time, id) of the last item, so pages stay stable while new events arrive.
/// </summary>
internal static class ListSecurityEvents
{
    public const int LimitDefault = 20;
    public const int LimitMax = 100;

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/me/security-events", HandleAsync).RequireUser().WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, CancellationToken ct, string? limit = null, string? cursor = null)
    {
        if (!PageLimit.TryRead(limit, LimitDefault, LimitMax, out var pageSize, out var limitProblem)) return limitProblem;
        var (beforeUs, beforeId) = (long.MaxValue, Guid.Empty);
        if (cursor is not null && !TryDecodeCursor(cursor, out beforeUs, out beforeId))
            return ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "cursor is not one this API returned.");

        await using var connection = await db.OpenAsync(ct);
        var rows = (await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT id, kind, device_id, client_address, detail, created_at_us FROM security_events
            WHERE user_id = @userId AND (created_at_us < @beforeUs OR (created_at_us = @beforeUs AND id < @beforeId))
            ORDER BY created_at_us DESC, id DESC
            LIMIT {pageSize + 1}
            """, new { userId = http.UserId(), beforeUs, beforeId = cursor is null ? MaxId : beforeId }, cancellationToken: ct))).AsList();
        var page = rows.Take(pageSize).ToList();
        return Results.Json(new
        {
            items = page.Select(r => new
            {
                id = r.id,
                kind = r.kind,
                device_id = r.device_id,
                client_address = r.client_address,
                detail = r.detail,
                created_at = TimeProviderExtensions.FromUnixMicroseconds(r.created_at_us),
            }),
            next_cursor = rows.Count > pageSize ? EncodeCursor(page[^1].created_at_us, page[^1].id) : null,
        }, JsonDefaults.Options);
    }

    // Above every id on both engines (uuid order on PostgreSQL, text order on SQLite), for the first page.
    private static readonly Guid MaxId = Guid.AllBitsSet;

    private static string EncodeCursor(long createdUs, Guid id) =>
        Base64Url.EncodeToString(Encoding.ASCII.GetBytes(createdUs.ToString(CultureInfo.InvariantCulture) + "." + id.ToString("N")));

    private static bool TryDecodeCursor(string cursor, out long createdUs, out Guid id)
    {
        (createdUs, id) = (0, Guid.Empty);
        Span<byte> bytes = stackalloc byte[64];
        // DecodeFromChars reports malformed base64url as a status; TryDecodeFromChars would throw (a 500).
        if (cursor.Length > 80 || Base64Url.DecodeFromChars(cursor, bytes, out _, out var n) != System.Buffers.OperationStatus.Done) return false;
        var text = Encoding.ASCII.GetString(bytes[..n]);
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && long.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out createdUs)
               && Guid.TryParseExact(text.AsSpan(dot + 1), "N", out id);
    }

    private sealed class Row
    {
        public Guid id { get; init; }
        public string kind { get; init; } = "";
        public string? device_id { get; init; }
        public string? client_address { get; init; }
        public string? detail { get; init; }
        public long created_at_us { get; init; }
    }
}
