using System.Globalization;
using System.Text.Json.Nodes;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Operators.Audit;

/// <summary>
/// <c>GET /admin/v1/audit?actor=&amp;target=&amp;from=&amp;to=&amp;limit=&amp;cursor=</c> (owner, risk) → <c>{items:[{seq, at,
/// actor, role, action, target, status, detail, before, after, client_address, prev_hash, hash}], next_cursor}</c>, newest
/// first. <c>actor</c> and <c>target</c> match exactly (an operator id, <c>bootstrap</c>, a user id); <c>from</c> (inclusive)
/// and <c>to</c> (exclusive) are RFC 3339 times. <c>GET /admin/v1/audit/verify</c> → <c>{ok, entries, first_bad_seq,
/// last_seq, last_hash}</c> recomputes the whole chain (<see cref="AuditLog.VerifyAsync"/>); keep <c>last_seq</c> and
/// <c>last_hash</c> outside the database to catch a truncated tail later.
/// </summary>
internal static class ListAudit
{
    public const int LimitDefault = 50;
    public const int LimitMax = 500;
    public const int FilterLengthMax = 100;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/v1/audit", ListAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");
        app.MapGet("/admin/v1/audit/verify", VerifyAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");
    }

    private static async Task<IResult> ListAsync(AuditLog audit, CancellationToken ct, string? actor = null, string? target = null, string? from = null,
        string? to = null, string? limit = null, string? cursor = null)
    {
        if (!PageLimit.TryRead(limit, LimitDefault, LimitMax, out var take, out var limitProblem)) return limitProblem;
        var beforeSeq = long.MaxValue;
        if (cursor is not null && (!long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out beforeSeq) || beforeSeq < 1))
            return ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "cursor is not one this API returned.");
        long fromUs = 0, toUs = long.MaxValue;
        if (from is not null && !TryParseTime(from, out fromUs)) return ApiProblem.BadRequest(ErrorCodes.InvalidTime, "from must be an RFC 3339 timestamp.");
        if (to is not null && !TryParseTime(to, out toUs)) return ApiProblem.BadRequest(ErrorCodes.InvalidTime, "to must be an RFC 3339 timestamp.");
        if (actor is { Length: 0 or > FilterLengthMax } || target is { Length: 0 or > FilterLengthMax })
            return ApiProblem.BadRequest(ErrorCodes.BadRequest, $"actor and target must be 1..{FilterLengthMax} characters.");

        var page = await audit.PageAsync(actor, target, fromUs, toUs, beforeSeq, take + 1, ct);
        var items = page.Take(take).Select(r => new Dictionary<string, object?>
        {
            ["seq"] = r.Seq,
            ["at"] = TimeProviderExtensions.FromUnixMicroseconds(r.AtUs),
            ["actor"] = r.Entry.Actor,
            ["role"] = r.Entry.Role,
            ["action"] = r.Entry.Action,
            ["target"] = r.Entry.Target,
            ["status"] = r.Entry.Status,
            ["detail"] = Json(r.Entry.Detail),
            ["before"] = Json(r.Entry.BeforeJson),
            ["after"] = Json(r.Entry.AfterJson),
            ["client_address"] = r.Entry.ClientAddress,
            ["prev_hash"] = r.PrevHash,
            ["hash"] = r.Hash,
        }).ToList();
        var next = page.Count > take ? page[take - 1].Seq.ToString(CultureInfo.InvariantCulture) : null;
        return Results.Json(new { items, next_cursor = next }, JsonDefaults.Options);
    }

    private static async Task<IResult> VerifyAsync(AuditLog audit, CancellationToken ct)
    {
        var result = await audit.VerifyAsync(ct);
        // A dictionary, so first_bad_seq is written as null rather than left out.
        return Results.Json(new Dictionary<string, object?>
        {
            ["ok"] = result.Ok,
            ["entries"] = result.Entries,
            ["first_bad_seq"] = result.FirstBadSeq,
            ["last_seq"] = result.LastSeq,
            ["last_hash"] = result.LastHash,
        }, JsonDefaults.Options);
    }

    /// <summary>Stored JSON as JSON; text that does not parse (a row changed by hand) as the text.</summary>
    private static JsonNode? Json(string? text)
    {
        if (text is null) return null;
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return JsonValue.Create(text);
        }
    }

    private static bool TryParseTime(string text, out long us)
    {
        us = 0;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return false;
        us = t.ToUnixMicroseconds();
        return true;
    }
}
