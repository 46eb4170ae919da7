using System.Buffers.Text;
using System.Text;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Wallet;

/// <summary>
/// <c>GET /v1/transactions?limit=&amp;cursor=&amp;type=&amp;from=&amp;to=</c> → <c>{items, next_cursor}</c>: every
/// ledger entry on the caller's wallets, newest first. A hold and its later post or void show as one item
/// whose status tells what became of it. The cursor is the ledger's commit sequence, so pages stay stable
/// while new entries arrive (they appear only on a fresh first page). A counterparty appears as
/// <c>{user_id, name_masked}</c>: another person's name is never shown whole.
/// </summary>
internal static class ListTransactions
{
    public const int LimitDefault = 20;
    public const int LimitMax = 100;

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/transactions", HandleAsync).RequireUser().WithTags("Transactions");

    private static async Task<IResult> HandleAsync(HttpContext http, LedgerHistory history, UserDirectory users, CancellationToken ct,
        string? limit = null, string? cursor = null, string? type = null, string? from = null, string? to = null)
    {
        if (!PageLimit.TryRead(limit, LimitDefault, LimitMax, out var pageSize, out var limitProblem)) return limitProblem;
        long before = long.MaxValue;
        if (cursor is not null && !TryDecodeCursor(cursor, out before)) return ApiProblem.BadRequest("invalid_cursor", "cursor is not one this API returned.");
        ushort code = 0;
        if (type is not null && !TransferCodes.TryParse(type, out code))
            return ApiProblem.BadRequest("invalid_type", "type must be one of topup, withdrawal, transfer, payment, refund, royalty, red_packet, red_packet_claim, red_packet_refund.");
        long fromUs = 0, toUs = long.MaxValue;
        if (from is not null && !TryParseTime(from, out fromUs)) return ApiProblem.BadRequest("invalid_time", "from must be an RFC 3339 timestamp.");
        if (to is not null && !TryParseTime(to, out toUs)) return ApiProblem.BadRequest("invalid_time", "to must be an RFC 3339 timestamp.");

        var userId = http.UserId();
        var entries = await history.PageAsync(new HistoryQuery(userId, AccountCodes.UserWallet, before, code, fromUs, toUs, pageSize + 1), ct);
        var count = Math.Min(entries.Count, pageSize);
        var counterparties = new HashSet<Guid>(count);
        for (var i = 0; i < count; i++)
            if (Counterparty(entries[i], userId) is { } id) counterparties.Add(id);
        var names = await users.MaskedNamesAsync(counterparties, ct);
        var items = new TransactionItem[count];
        for (var i = 0; i < count; i++) items[i] = Item(entries[i], userId, names);
        var next = entries.Count > pageSize ? EncodeCursor(entries[count - 1].Seq) : null;
        return Results.Json(new TransactionPage(items, next), TransactionJson.Default.TransactionPage);
    }

    private static Guid? Counterparty(LedgerEntry e, Guid userId) => e.DebitOwnerId == userId ? e.CreditOwnerId : e.DebitOwnerId;

    private static TransactionItem Item(LedgerEntry e, Guid userId, IReadOnlyDictionary<Guid, string> names)
    {
        var outgoing = e.DebitOwnerId == userId;
        var counterparty = Counterparty(e, userId) is { } id && names.TryGetValue(id, out var name) ? new TransactionCounterparty(id, name) : null;
        return new TransactionItem(e.Id, TransferCodes.Name(e.Code), outgoing ? "debit" : "credit", e.Amount, e.Currency.Code,
            e.Flags.HasFlag(TransferFlags.Pending) ? HoldStatus.Name(e.State) : "completed", counterparty, e.Reference,
            TimeProviderExtensions.FromUnixMicroseconds(e.TimestampUs));
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
}

internal sealed record TransactionPage(IReadOnlyList<TransactionItem> Items, string? NextCursor);

internal sealed record TransactionItem(Guid Id, string Type, string Direction, long Amount, string Currency, string Status,
    TransactionCounterparty? Counterparty, string? Note, DateTimeOffset CreatedAt);

internal sealed record TransactionCounterparty(Guid UserId, string NameMasked);

/// <summary>
/// The page's JSON written by generated code (no reflection or boxing per item), with <see cref="JsonDefaults.Options"/>'s
/// settings: snake_case, nulls left out.
/// </summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web,
    PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict)]
[System.Text.Json.Serialization.JsonSerializable(typeof(TransactionPage))]
internal sealed partial class TransactionJson : System.Text.Json.Serialization.JsonSerializerContext;
