using System.Security.Cryptography;
using System.Text.Json;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Identity.Limits;
using Qianbao.Server.Modules.Identity.Spending;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Modules.RedPackets;

/// <summary>
/// <c>POST /v1/red-packets {amount, count, split:"fixed"|"lucky", message, expires_in_hours}</c> (Idempotency-Key; PIN, step-up and
/// limits as a transfer) → 201 <c>{id, code, amount, count, split, message, expires_at}</c>. In one linked ledger chain: the
/// sender's tier-limit usage, then the whole amount from the wallet to the packet's own escrow account (the wallet drops at
/// once); the packet row and its shares, fixed now, are effects of that chain. Amounts are CNY fen.
/// </summary>
/// <remarks>
/// The spending gate is asked with <see cref="SpendKind.Transfer"/>: a red packet is money sent to other people, and every
/// check of a transfer applies to it unchanged (PIN, step-up above the threshold or from a new device, identity, tier limits
/// counted on the whole amount at creation). A kind of its own would only copy those rules. What comes back at expiry does
/// not give the limit back, as a transfer's never does.
/// </remarks>
internal static class CreateRedPacket
{
    public sealed record Request(JsonElement? Amount, JsonElement? Count, string? Split, string? Message, JsonElement? ExpiresInHours);

    /// <summary>Most one packet may hold: ¥20,000.</summary>
    public const long AmountMaxMinor = 2_000_000;

    public const int CountMax = 100;
    public const int MessageLengthMax = 64;
    public const int ExpiresInHoursDefault = 24;
    public const int ExpiresInHoursMax = 168;
    public const string MessageDefault = "恭喜发财，大吉大利";

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/red-packets", HandleAsync).RequireUser().WithTags("Red packets");

    private static async Task<IResult> HandleAsync(HttpContext http, Idempotency idempotency, MoneyMovement money, LedgerAccounts accounts, SpendingGate gate,
        TierLimits limits, TimeProvider clock, CancellationToken ct)
    {
        var (request, bytes, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (Validate(request!) is { } invalid) return invalid;
        var amount = request!.Amount!.Value.GetInt64();
        var count = request.Count!.Value.GetInt32();
        RedPacketNames.TryParseSplit(request.Split, out var split);
        var message = request.Message ?? MessageDefault;
        var hours = request.ExpiresInHours is { ValueKind: JsonValueKind.Number } h ? h.GetInt32() : ExpiresInHoursDefault;
        if (await gate.CheckAsync(http, SpendKind.Transfer, amount, ct) is { } refused) return refused;

        var userId = http.UserId();
        var (idem, done) = await idempotency.BeginAsync(http, "red-packet/" + userId.ToString("N"), bytes!, ct);
        if (done is not null) return done;

        var currency = Currency.Cny;
        var packetId = StableId.From("red-packet", idem!.Name);
        var wallet = ChartOfAccounts.UserWallet(userId, currency);
        var escrow = ChartOfAccounts.RedPacket(packetId, currency);
        await accounts.EnsureAsync(wallet, userId, ct);
        await accounts.EnsureAsync(escrow, null, ct);

        var shares = split == RedPacketSplitKind.Fixed ? RedPacketSplit.Fixed(amount, count) : RedPacketSplit.Lucky(amount, count, RedPacketSplit.SecureRandom);
        // 16 random bytes: whoever holds the code can claim, so it must not be guessed (a concurrent replay of this request
        // draws another, but only the first writer's row is stored and the replay answers the first response).
        var code = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = clock.GetUtcNow();
        var nowUs = now.ToUnixMicroseconds();
        var expiresAt = now.AddHours(hours);

        var hold = new Transfer(new TransferId(packetId), wallet.Id, escrow.Id, amount, currency, TransferCodes.RedPacket, Reference: "red-packet");
        // The tier limits ride in front of the hold in its chain: a cap reached refuses the packet in the same transaction.
        var limited = await limits.ForPaymentAsync(userId, hold.Id, amount, currency, ct);
        var result = await money.ExecuteAsync(idem, [.. limited.Transfers, hold], () => (StatusCodes.Status201Created, new
        {
            id = packetId, code, amount, currency = currency.Code, count, split = RedPacketNames.Of(split), message, expires_at = expiresAt, created_at = now,
        }), ct,
        [
            new RedPacketOpened(packetId, code, userId, amount, currency.Code, split, message, nowUs, expiresAt.ToUnixMicroseconds(), shares),
            new RedPacketCreated(packetId, userId, amount, currency.Code, count, RedPacketNames.Of(split))
            {
                EventId = DomainEvent.IdFor<RedPacketCreated>(packetId.ToString("N")), OccurredAtUs = nowUs,
            },
        ], limited.Count == 0 ? null : new LedgerFailureAnswer(
            (index, failure) => limited.ExceededAt(index, failure) is not null,
            (index, failure, token) => limits.ExceededAsync(userId, limited.ExceededAt(index, failure)!.Value, token)));
        if (result is RawJsonResult { StatusCode: StatusCodes.Status201Created }) limits.Applied(limited);
        return result;
    }

    /// <summary>The 400 for a malformed packet, or null. Nothing is read or moved before this passes.</summary>
    private static IResult? Validate(Request request)
    {
        if (request.Amount is not { ValueKind: JsonValueKind.Number } a || !a.TryGetInt64(out var amount) || amount <= 0)
            return ApiProblem.BadRequest(ErrorCodes.InvalidAmount, "amount must be a positive integer number of fen.");
        if (request.Count is not { ValueKind: JsonValueKind.Number } c || !c.TryGetInt32(out var count) || count is < 1 or > CountMax)
            return ApiProblem.BadRequest(ErrorCodes.InvalidCount, $"count must be an integer 1..{CountMax}.");
        if (!RedPacketNames.TryParseSplit(request.Split, out var split))
            return ApiProblem.BadRequest(ErrorCodes.InvalidSplit, "split must be fixed or lucky.");
        if (amount > AmountMaxMinor)
            return ApiProblem.BadRequest(ErrorCodes.RedPacketTooLarge, $"A red packet holds at most ¥{AmountMaxMinor / 100:N0} ({AmountMaxMinor} fen).");
        if (amount < count)
            return ApiProblem.BadRequest(ErrorCodes.ShareTooSmall, "Every share must be at least ¥0.01: amount (in fen) must be at least count.");
        if (split == RedPacketSplitKind.Fixed && amount % count != 0)
            return ApiProblem.BadRequest(ErrorCodes.UnevenFixedSplit, "A fixed split gives every share the same amount: amount (in fen) must divide by count.");
        if (request.Message is { } m && (m.Length > MessageLengthMax || m.Any(char.IsControl)))
            return ApiProblem.BadRequest(ErrorCodes.InvalidMessage, $"message must be at most {MessageLengthMax} printable characters.");
        if (request.ExpiresInHours is { } e && (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out var hours) || hours is < 1 or > ExpiresInHoursMax))
            return ApiProblem.BadRequest(ErrorCodes.InvalidExpiry, $"expires_in_hours must be an integer 1..{ExpiresInHoursMax} (default {ExpiresInHoursDefault}).");
        return null;
    }
}
