using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
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
        var next = entries.Count > pageSize ? EncodeCursor(entries[count - 1].Seq) : null;
        return new PageResult(entries, count, userId, names, next);
    }

    private static Guid? Counterparty(LedgerEntry e, Guid userId) => e.DebitOwnerId == userId ? e.CreditOwnerId : e.DebitOwnerId;

    /// <summary>
    /// <c>{items: [{id, type, direction, amount, currency, status, counterparty?: {user_id, name_masked}, note?, created_at}],
    /// next_cursor?}</c> written straight into the response body: no item objects per entry, no serializer. The same JSON as
    /// the API's serializer writes (snake_case names, nulls left out, the default encoder, ISO 8601 times with offset), so the
    /// history tests that read it as any other answer hold it (BENCHMARKS.md, issue 13, session 6).
    /// </summary>
    private sealed class PageResult(IReadOnlyList<LedgerEntry> entries, int count, Guid userId, IReadOnlyDictionary<Guid, string> names, string? next) : IResult
    {
        private static readonly JsonEncodedText Items = JsonEncodedText.Encode("items"), NextCursor = JsonEncodedText.Encode("next_cursor"),
            Id = JsonEncodedText.Encode("id"), Type = JsonEncodedText.Encode("type"), Direction = JsonEncodedText.Encode("direction"),
            Amount = JsonEncodedText.Encode("amount"), CurrencyName = JsonEncodedText.Encode("currency"), Status = JsonEncodedText.Encode("status"),
            CounterpartyName = JsonEncodedText.Encode("counterparty"), UserId = JsonEncodedText.Encode("user_id"),
            NameMasked = JsonEncodedText.Encode("name_masked"), Note = JsonEncodedText.Encode("note"), CreatedAt = JsonEncodedText.Encode("created_at"),
            Debit = JsonEncodedText.Encode("debit"), Credit = JsonEncodedText.Encode("credit"), Completed = JsonEncodedText.Encode("completed");

        /// <summary>The <c>type</c> of codes below 128 (every code the chart of accounts names), encoded once rather than per item.</summary>
        private static readonly JsonEncodedText[] TypeNames = [.. Enumerable.Range(0, 128).Select(c => JsonEncodedText.Encode(TransferCodes.Name((ushort)c)))];

        /// <summary>A hold's <c>status</c> by its state, encoded once.</summary>
        private static readonly JsonEncodedText[] HoldStatusNames =
            [.. Enumerable.Range(0, (int)PendingState.Expired + 1).Select(state => JsonEncodedText.Encode(HoldStatus.Name((PendingState)state)))];

        /// <summary>Currency codes encoded once; bounded by the known currencies (<see cref="Currency.Parse"/> accepts no other).</summary>
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, JsonEncodedText> CurrencyCodes = new(StringComparer.Ordinal);

        /// <summary>A page of 100 items is about 40 KB: a buffer grown past this is not kept for the thread's next page.</summary>
        private const int KeptBufferBytesMax = 256 * 1024;

        /// <summary>This thread's page buffer: <see cref="ExecuteAsync"/> fills and copies it with no await in between.</summary>
        [ThreadStatic] private static ArrayBufferWriter<byte>? buffer;

        /// <summary>
        /// The page is written into a buffer of this thread first, so the answer carries a Content-Length instead of chunked framing
        /// and needs no flush of its own (Kestrel sends headers and body together when the request ends). Written straight into the
        /// body it went out chunked; that too left in one send (the closing chunk coalesced), but each of the JSON writer's buffer
        /// requests took the response pipe's lock, which the socket sender also takes: under load that lock's contended slow path
        /// was ~10 % of the server's samples (dotnet-trace; BENCHMARKS.md, issue 13, sessions 8 and 9). One copy takes it once.
        /// </summary>
        public Task ExecuteAsync(HttpContext http)
        {
            var page = buffer ??= new ArrayBufferWriter<byte>(8 * 1024);
            page.ResetWrittenCount();
            try
            {
                Write(page);
                var response = http.Response;
                response.ContentType = "application/json; charset=utf-8";
                response.ContentLength = page.WrittenCount;
                // Copied into the response's pipe before this returns, so the thread's buffer is free for its next page.
                response.BodyWriter.Write(page.WrittenSpan);
                return Task.CompletedTask;
            }
            finally
            {
                if (page.Capacity > KeptBufferBytesMax) buffer = null;
            }
        }

        private void Write(IBufferWriter<byte> body)
        {
            using var json = new Utf8JsonWriter(body);
            json.WriteStartObject();
            json.WriteStartArray(Items);
            for (var i = 0; i < count; i++)
            {
                var e = entries[i];
                json.WriteStartObject();
                json.WriteString(Id, e.Id);
                if (e.Code < TypeNames.Length) json.WriteString(Type, TypeNames[e.Code]);
                else json.WriteString(Type, TransferCodes.Name(e.Code));
                json.WriteString(Direction, e.DebitOwnerId == userId ? Debit : Credit);
                json.WriteNumber(Amount, e.Amount);
                json.WriteString(CurrencyName, CurrencyCodes.GetOrAdd(e.Currency.Code, static code => JsonEncodedText.Encode(code)));
                if (!e.Flags.HasFlag(TransferFlags.Pending)) json.WriteString(Status, Completed);
                else if ((int)e.State < HoldStatusNames.Length) json.WriteString(Status, HoldStatusNames[(int)e.State]);
                else json.WriteString(Status, HoldStatus.Name(e.State));
                if (Counterparty(e, userId) is { } other && names.TryGetValue(other, out var name))
                {
                    json.WriteStartObject(CounterpartyName);
                    json.WriteString(UserId, other);
                    json.WriteString(NameMasked, name);
                    json.WriteEndObject();
                }
                if (e.Reference is not null) json.WriteString(Note, e.Reference);
                json.WriteString(CreatedAt, TimeProviderExtensions.FromUnixMicroseconds(e.TimestampUs));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (next is not null) json.WriteString(NextCursor, next);
            json.WriteEndObject();
        }
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
