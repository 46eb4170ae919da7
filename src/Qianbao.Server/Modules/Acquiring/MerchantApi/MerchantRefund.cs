using System.Security.Cryptography;
using System.Text;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Modules.Merchants.Accounts;

namespace Qianbao.Server.Modules.Acquiring.MerchantApi;

/// <summary>
/// <c>POST /merchant/v1/trades/{trade_no}/refunds</c> <c>{amount, reason}</c> with an <c>Idempotency-Key</c> → 201 <c>{trade_no,
/// out_request_no, amount, refunded_amount, status}</c>: the same refund path as the gateway's <c>alipay.trade.refund</c>
/// (<see cref="TradePayments.RefundAsync"/>: fee back first, coupon, points and cashback parts in proportion), under the
/// refund request number <c>mapi-</c> + 32 hex digits of SHA-256(key), so the key makes the refund exactly-once: the same key
/// and amount again answers 200 with the trade as it is, another amount 422 <c>idempotency_key_reused</c>. A <c>cashier</c> may
/// refund at most <c>Qianbao:Merchant:CashierRefundMaxMinor</c> per refund (403 <c>cashier_refund_limit</c>); analysts
/// cannot refund. 422 <c>trade_not_refundable</c> (not paid, or closed), <c>refund_exceeds_paid</c>,
/// <c>merchant_balance_insufficient</c>, <c>merchant_frozen</c>; another merchant's trade is 404. The reason (0..256
/// characters) is checked but, as on the gateway, not kept.
/// </summary>
internal static class MerchantRefund
{
    public sealed record Request(long? Amount, string? Reason);

    public const string RequestNoPrefix = "mapi-";
    public const int ReasonLengthMax = 256;
    public const int RaceAttemptsMax = 8;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/merchant/v1/trades/{trade_no}/refunds", HandleAsync).RequireMerchant(MerchantRole.Cashier).WithTags("Merchant");

    /// <summary>The refund request number a merchant API Idempotency-Key stands for (the gateway's own fit in 64 characters too).</summary>
    public static string RequestNo(string idempotencyKey) =>
        RequestNoPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)))[..32];

    private static async Task<IResult> HandleAsync(string trade_no, HttpContext http, TradeStore trades, TradePayments payments, MerchantOptions options,
        CancellationToken ct)
    {
        var key = http.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length == 0) return ApiProblem.BadRequest(ErrorCodes.IdempotencyKeyMissing, "Send an Idempotency-Key header (1-255 printable ASCII characters).");
        if (key.Length > Money.Idempotency.KeyLengthMax || key.Any(c => c is < '!' or > '~'))
            return ApiProblem.BadRequest(ErrorCodes.IdempotencyKeyInvalid, "The Idempotency-Key must be 1-255 printable ASCII characters.");
        var (r, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (r!.Amount is not > 0)
            return ApiProblem.BadRequest(ErrorCodes.InvalidAmount, "amount must be a positive whole number of fen.");
        if (r.Reason is { } reason && (reason.Length > ReasonLengthMax || reason.Any(char.IsControl)))
            return ApiProblem.BadRequest(ErrorCodes.InvalidReason, $"reason must be at most {ReasonLengthMax} printable characters.");
        var merchant = http.Merchant();
        var amount = r.Amount.Value;
        var requestNo = RequestNo(key);

        for (var attempt = 0; attempt < RaceAttemptsMax; attempt++)
        {
            var t = await trades.FindAsync(trade_no, ct);
            if (t is null || t.merchant_id != merchant.MerchantId) return ApiProblem.NotFound();
            if (await trades.FindRefundAsync(t.trade_no, requestNo, ct) is { } previous)
            {
                return previous.AmountMinor == amount
                    ? Answer((await trades.FindAsync(t.trade_no, ct))!, requestNo, amount, StatusCodes.Status200OK)
                    : Money.Idempotency.KeyReused();
            }
            if (merchant.Role == MerchantRole.Cashier && amount > options.CashierRefundMaxMinor)
                return ApiProblem.Forbidden(ErrorCodes.CashierRefundLimit,
                    $"A cashier may refund at most {options.CashierRefundMaxMinor} fen at a time; ask an admin for larger refunds.");
            if (t.status != TradeStatus.Success)
                return ApiProblem.Unprocessable(ErrorCodes.TradeNotRefundable, t.paid_at_us is null ? "The trade was not paid." : "The trade is closed: it was refunded in full.");
            if (amount > t.total_amount - t.refunded_amount)
                return ApiProblem.Unprocessable(ErrorCodes.RefundExceedsPaid, $"At most {t.total_amount - t.refunded_amount} fen of this trade is left to refund.");

            var (outcome, after) = await payments.RefundAsync(t, requestNo, amount, ct);
            switch (outcome)
            {
                case RefundOutcome.Refunded:
                    return Answer(after, requestNo, amount, StatusCodes.Status201Created);
                case RefundOutcome.MerchantBalanceInsufficient:
                    return ApiProblem.Unprocessable(ErrorCodes.MerchantBalanceInsufficient, "The settlement balance cannot cover this refund.");
                case RefundOutcome.MerchantFrozen:
                    return ApiProblem.Unprocessable(ErrorCodes.MerchantFrozen, "The merchant's account is frozen.");
                case RefundOutcome.ExceedsPaid:
                    return ApiProblem.Unprocessable(ErrorCodes.RefundExceedsPaid, "The refund exceeds what is left of the trade.");
                default:
                    continue; // another refund changed the trade first (or this key's refund raced in): decide again on fresh state
            }
        }
        return ApiProblem.TooMany(ErrorCodes.TooManyRequests, "The trade kept changing under this refund; try again with the same Idempotency-Key.", TimeSpan.FromSeconds(1));
    }

    private static IResult Answer(TradeRow t, string requestNo, long amount, int status) => Results.Json(new
    {
        trade_no = t.trade_no, out_request_no = requestNo, amount, refunded_amount = t.refunded_amount, status = t.status,
    }, JsonDefaults.Options, statusCode: status);
}
