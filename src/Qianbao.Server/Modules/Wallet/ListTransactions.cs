using System.Buffers.Text;
using System.Text;
using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Wallet;

/// <summary>
/// <c>GET /v1/transactions?limit=&amp;cursor=&amp;type=&amp;from=&amp;to=</c> → <c>{items, next_cursor}</c>: every
/// ledger entry on the caller's wallets, newest first. A hold and its later post or void show as one item
/// whose status tells what became of it. The cursor is the ledger's commit sequence, so pages stay stable
/// while new entries arrive (they appear only on a fresh first page).
/// </summary>
public static class ListTransactions
{
    public const int LimitDefault = 20;
    public const int LimitMax = 100;

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/transactions", HandleAsync).RequireUser().WithTags("Transactions");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, CancellationToken ct,
        string? limit = null, string? cursor = null, string? type = null, string? from = null, string? to = null)
    {
        var pageSize = LimitDefault;
        if (limit is not null && (!int.TryParse(limit, out pageSize) || pageSize is < 1 or > LimitMax))
            return ApiProblem.BadRequest("invalid_limit", $"limit must be 1..{LimitMax}.");
        long before = long.MaxValue;
        if (cursor is not null && !TryDecodeCursor(cursor, out before)) return ApiProblem.BadRequest("invalid_cursor", "cursor is not one this API returned.");
        ushort code = 0;
        if (type is not null && !TransferCodes.TryParse(type, out code))
            return ApiProblem.BadRequest("invalid_type", "type must be one of topup, withdrawal, transfer, payment, refund.");
        long fromUs = 0, toUs = long.MaxValue;
        if (from is not null && !TryParseTime(from, out fromUs)) return ApiProblem.BadRequest("invalid_time", "from must be an RFC 3339 timestamp.");
        if (to is not null && !TryParseTime(to, out toUs)) return ApiProblem.BadRequest("invalid_time", "to must be an RFC 3339 timestamp.");

        var userId = http.UserId();
        await using var connection = await db.OpenAsync(ct);
        // Post and void records (flags 4 and 8) are folded into the hold they settle.
        var rows = (await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT t.seq, t.id, t.debit_account_id, t.credit_account_id, t.amount, t.currency, t.code, t.flags, t.reference, t.timestamp_us, t.state,
                   da.owner_id AS debit_owner_id, ca.owner_id AS credit_owner_id, du.name AS debit_owner_name, cu.name AS credit_owner_name
            FROM transfers t
            JOIN accounts da ON da.id = t.debit_account_id
            JOIN accounts ca ON ca.id = t.credit_account_id
            LEFT JOIN users du ON du.id = da.owner_id
            LEFT JOIN users cu ON cu.id = ca.owner_id
            WHERE t.seq < @before AND (t.flags & 12) = 0
              AND (t.debit_account_id IN (SELECT id FROM accounts WHERE owner_id = @owner AND code = @walletCode)
                   OR t.credit_account_id IN (SELECT id FROM accounts WHERE owner_id = @owner AND code = @walletCode))
              AND (@code = 0 OR t.code = @code) AND t.timestamp_us >= @fromUs AND t.timestamp_us < @toUs
            ORDER BY t.seq DESC
            LIMIT @take
            """, new { before, owner = userId, walletCode = (int)AccountCodes.UserWallet, code = (int)code, fromUs, toUs, take = pageSize + 1 },
            cancellationToken: ct))).AsList();

        var items = rows.Take(pageSize).Select(r => Item(r, userId));
        var next = rows.Count > pageSize ? EncodeCursor(rows[pageSize - 1].seq) : null;
        return Results.Json(new { items, next_cursor = next }, JsonDefaults.Options);
    }

    private static object Item(Row r, Guid userId)
    {
        var outgoing = r.debit_owner_id == userId;
        var flags = (TransferFlags)r.flags;
        var state = (PendingState)r.state;
        var counterpartyId = outgoing ? r.credit_owner_id : r.debit_owner_id;
        var counterpartyName = outgoing ? r.credit_owner_name : r.debit_owner_name;
        return new
        {
            id = r.id,
            type = TransferCodes.Name(checked((ushort)r.code)),
            direction = outgoing ? "debit" : "credit",
            amount = r.amount,
            currency = r.currency,
            status = (flags & TransferFlags.Pending) != 0 ? HoldStatus.Name(state) : "completed",
            counterparty = counterpartyName is null ? null : new { user_id = counterpartyId, name = counterpartyName },
            note = r.reference,
            created_at = TimeProviderExtensions.FromUnixMicroseconds(r.timestamp_us),
        };
    }

    private static string EncodeCursor(long seq) => Base64Url.EncodeToString(Encoding.ASCII.GetBytes("s" + seq.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static bool TryDecodeCursor(string cursor, out long seq)
    {
        seq = 0;
        Span<byte> bytes = stackalloc byte[32];
        // DecodeFromChars reports malformed base64url as a status; TryDecodeFromChars would throw FormatException (a 500).
        if (cursor.Length > 40 || Base64Url.DecodeFromChars(cursor, bytes, out _, out var n) != System.Buffers.OperationStatus.Done
            || n < 2 || bytes[0] != (byte)'s') return false;
        return long.TryParse(Encoding.ASCII.GetString(bytes[1..n]), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out seq) && seq > 0;
    }

    private static bool TryParseTime(string text, out long us)
    {
        us = 0;
        if (!DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t)) return false;
        us = t.ToUnixMicroseconds();
        return true;
    }

    private sealed class Row
    {
        public long seq { get; init; }
        public Guid id { get; init; }
        public Guid debit_account_id { get; init; }
        public Guid credit_account_id { get; init; }
        public long amount { get; init; }
        public string currency { get; init; } = "";
        public int code { get; init; }
        public int flags { get; init; }
        public string? reference { get; init; }
        public long timestamp_us { get; init; }
        public int state { get; init; }
        public Guid? debit_owner_id { get; init; }
        public Guid? credit_owner_id { get; init; }
        public string? debit_owner_name { get; init; }
        public string? credit_owner_name { get; init; }
    }
}
