using System.Data.Common;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Complaints;

/// <summary>What a complaint is about. Stored as a number; never renumber.</summary>
internal enum ComplaintCategory : short { Unauthorised = 0, NotReceived = 1, WrongAmount = 2, MerchantService = 3, Other = 4 }

/// <summary>Where a complaint stands. Stored as a number; never renumber.</summary>
internal enum ComplaintStatus : short
{
    /// <summary>Opened by the user; no operator has answered.</summary>
    Open = 0,

    /// <summary>Support replied; still to be decided.</summary>
    InProgress = 1,

    /// <summary>Resolved with a refund of the trade from the merchant.</summary>
    Refunded = 2,

    /// <summary>Resolved without one.</summary>
    Rejected = 3,
}

/// <summary>A support operator's decision.</summary>
internal enum ComplaintDecision : byte { Refund, Reject }

internal static class ComplaintNames
{
    private static readonly string[] Categories = ["unauthorised", "not_received", "wrong_amount", "merchant_service", "other"];
    private static readonly string[] Statuses = ["open", "in_progress", "refunded", "rejected"];

    public static string Of(ComplaintCategory c) => Categories[(int)c];

    public static string Of(ComplaintStatus s) => Statuses[(int)s];

    public static string Of(ComplaintDecision d) => d == ComplaintDecision.Refund ? "refund" : "reject";

    public static bool TryParseCategory(string? text, out ComplaintCategory category)
    {
        var i = Array.IndexOf(Categories, text);
        category = (ComplaintCategory)Math.Max(i, 0);
        return i >= 0;
    }

    public static bool TryParseStatus(string? text, out ComplaintStatus status)
    {
        var i = Array.IndexOf(Statuses, text);
        status = (ComplaintStatus)Math.Max(i, 0);
        return i >= 0;
    }

    public static bool TryParseDecision(string? text, out ComplaintDecision decision)
    {
        decision = text == "reject" ? ComplaintDecision.Reject : ComplaintDecision.Refund;
        return text is "refund" or "reject";
    }

    public static bool IsClosed(ComplaintStatus s) => s is ComplaintStatus.Refunded or ComplaintStatus.Rejected;

    public static ComplaintStatus StatusFor(ComplaintDecision d) => d == ComplaintDecision.Refund ? ComplaintStatus.Refunded : ComplaintStatus.Rejected;
}

internal sealed class ComplaintRow
{
    public Guid id { get; init; }
    public Guid user_id { get; init; }
    public string? trade_no { get; init; }
    public Guid? transfer_id { get; init; }
    public short category { get; init; }
    public string text { get; init; } = "";
    public short status { get; init; }
    public long? refund_amount { get; init; }
    public string? currency { get; init; }
    public string? resolution_note { get; init; }
    public long created_at_us { get; init; }
    public long updated_at_us { get; init; }
    public long? resolved_at_us { get; init; }

    /// <summary>The merchant of the complaint's trade (null without a trade): the one that may read and answer it.</summary>
    public Guid? merchant_id { get; init; }

    public ComplaintStatus Status => (ComplaintStatus)status;
}

internal sealed class ReplyRow
{
    public Guid id { get; init; }
    public Guid complaint_id { get; init; }
    public string text { get; init; } = "";
    public long created_at_us { get; init; }

    /// <summary>The merchant staff member who wrote it; null when support did.</summary>
    public Guid? merchant_staff_id { get; init; }

    /// <summary>Who answered, as the user and the merchant see it: <c>merchant</c> or <c>support</c>.</summary>
    public string From => merchant_staff_id is null ? "support" : "merchant";
}

/// <summary>The complaint was resolved by a refund: written in the refund's ledger transaction, so both commit or neither.</summary>
internal sealed record ComplaintRefundedChange(Guid ComplaintId, long Amount, string Currency, string Note, Guid? By, long AtUs) : IEffect;

/// <summary>Writes <see cref="ComplaintRefundedChange"/>; only an open complaint changes, so a replayed command changes nothing.</summary>
internal sealed class ComplaintRefundedWriter : EffectWriter<ComplaintRefundedChange>
{
    protected override ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<ComplaintRefundedChange> effects, CancellationToken ct) =>
        SqlBatch.ExecuteAsync(connection, transaction, [.. effects.Select(e => new SqlStatement($"""
            UPDATE complaints SET status = {(int)ComplaintStatus.Refunded}, refund_amount = @amount, currency = @currency, resolution_note = @note,
                resolved_by = @by, resolved_at_us = @now, updated_at_us = @now
            WHERE id = @id AND status IN ({(int)ComplaintStatus.Open}, {(int)ComplaintStatus.InProgress})
            """, new Dictionary<string, object?> { ["id"] = e.ComplaintId, ["amount"] = e.Amount, ["currency"] = e.Currency, ["note"] = e.Note, ["by"] = e.By, ["now"] = e.AtUs }))], ct);
}

/// <summary>Reads and writes <c>complaints</c> and <c>complaint_replies</c>, the module's own tables.</summary>
internal sealed class ComplaintStore(Db db)
{
    public const int TextLengthMax = 2000;
    public const int ListMax = 100;

    private const string Columns = "id, user_id, trade_no, transfer_id, category, text, status, refund_amount, currency, resolution_note, created_at_us, updated_at_us, resolved_at_us, merchant_id";

    public Db Db => db;

    public async Task<ComplaintRow?> FindAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<ComplaintRow>(new CommandDefinition(
            $"SELECT {Columns} FROM complaints WHERE id = @id", new { id }, cancellationToken: ct));
    }

    /// <summary>Newest first; of one user, or (null) of everyone, optionally in one status.</summary>
    public async Task<IReadOnlyList<ComplaintRow>> ListAsync(Guid? userId, ComplaintStatus? status, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var where = new List<string>();
        if (userId is not null) where.Add("user_id = @userId");
        if (status is not null) where.Add("status = @status");
        var sql = $"SELECT {Columns} FROM complaints {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} ORDER BY created_at_us DESC, id LIMIT {ListMax}";
        return (await connection.QueryAsync<ComplaintRow>(new CommandDefinition(sql, new { userId, status = (int?)status }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// The complaints about one merchant's trades, newest first, optionally in one status: <paramref name="limit"/> of them
    /// after the (created, id) position <paramref name="after"/>.
    /// </summary>
    public async Task<IReadOnlyList<ComplaintRow>> ListForMerchantAsync(Guid merchantId, ComplaintStatus? status, int limit, (long CreatedUs, Guid Id)? after,
        CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var sql = $"SELECT {Columns} FROM complaints WHERE merchant_id = @merchantId"
            + (status is null ? "" : " AND status = @status")
            + (after is null ? "" : " AND (created_at_us < @afterUs OR (created_at_us = @afterUs AND id < @afterId))")
            + " ORDER BY created_at_us DESC, id DESC LIMIT @limit";
        return (await connection.QueryAsync<ComplaintRow>(new CommandDefinition(sql, new
        {
            merchantId, status = (int?)status, afterUs = after?.CreatedUs ?? 0, afterId = after?.Id ?? Guid.Empty, limit,
        }, cancellationToken: ct))).AsList();
    }

    public async Task<IReadOnlyList<ReplyRow>> RepliesAsync(Guid complaintId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<ReplyRow>(new CommandDefinition(
            "SELECT id, complaint_id, text, created_at_us, merchant_staff_id FROM complaint_replies WHERE complaint_id = @complaintId ORDER BY created_at_us, id",
            new { complaintId }, cancellationToken: ct))).AsList();
    }

    /// <summary>The answer body of a complaint, with its replies (oldest first).</summary>
    public async Task<object> BodyAsync(ComplaintRow c, CancellationToken ct) => Body(c, await RepliesAsync(c.id, ct));

    public static object Body(ComplaintRow c, IReadOnlyList<ReplyRow>? replies) => new
    {
        id = c.id, user_id = c.user_id, status = ComplaintNames.Of(c.Status), category = ComplaintNames.Of((ComplaintCategory)c.category),
        trade_no = c.trade_no, transfer_id = c.transfer_id, text = c.text,
        refund_amount = c.refund_amount, currency = c.currency, resolution_note = c.resolution_note,
        created_at = TimeProviderExtensions.FromUnixMicroseconds(c.created_at_us),
        updated_at = TimeProviderExtensions.FromUnixMicroseconds(c.updated_at_us),
        resolved_at = c.resolved_at_us is { } us ? TimeProviderExtensions.FromUnixMicroseconds(us) : (DateTimeOffset?)null,
        replies = replies?.Select(r => new { id = r.id, from = r.From, text = r.text, created_at = TimeProviderExtensions.FromUnixMicroseconds(r.created_at_us) }),
    };

    /// <summary>Checks a free text: 1..<paramref name="max"/> characters after trimming, no control characters but line breaks.</summary>
    public static string? CleanText(string? text, int max)
    {
        var t = text?.Trim();
        return string.IsNullOrEmpty(t) || t.Length > max || t.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')) ? null : t;
    }
}
