using Qianbao.Server.Hosting;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// What a merchant asks for when it opens a trade, whatever protocol carried the request. <see cref="Kind"/> is how it
/// will be paid (<c>precreate</c>: a QR code the buyer scans; <c>create</c>: a designated buyer; <c>pay</c>: a payment
/// code the merchant scanned). Amounts in fen. <see cref="FeeBps"/>: the merchant's fee rate now (0..10000 basis points), stamped on
/// the trade as the rate its payment charges.
/// </summary>
internal sealed record NewTrade(string AppId, Guid MerchantId, string Kind, string OutTradeNo, long AmountMinor, string Subject, string? Body,
    DateTimeOffset ExpiresAt, bool RoyaltyFreeze, string? NotifyUrl, Guid? BuyerId, int FeeBps);

/// <summary>How opening a trade ended. Exhaustive.</summary>
internal enum CreateTradeOutcome : byte
{
    Created,

    /// <summary>The same request again under the same <c>out_trade_no</c>: the trade it opened before.</summary>
    Replayed,

    /// <summary>A different request under an <c>out_trade_no</c> the app already used: nothing was created.</summary>
    ConflictsWithExisting,

    /// <summary>An operator froze the merchant: it opens no trades (and its open trades cannot be paid).</summary>
    MerchantFrozen,
}

/// <summary>
/// Opens the trade row shared by every way of paying. <c>out_trade_no</c> is the merchant's idempotency key per app:
/// the same request again answers the same trade; a different one under the same <c>out_trade_no</c> is a conflict.
/// </summary>
internal sealed class TradeCreation(TradeStore trades, Money.Freezes freezes)
{
    /// <summary>
    /// Whether the merchant is frozen now. An early answer only: a payment to a frozen merchant is refused by the money
    /// pipeline's freeze policy with the accounts locked, whatever this said.
    /// </summary>
    public Task<bool> MerchantFrozenAsync(Guid merchantId, CancellationToken ct) => freezes.IsFrozenAsync(merchantId, ct);

    /// <summary>How long a trade waits for payment when the merchant does not say.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(90);

    /// <param name="qrBaseUrl">Prefix of the QR code text to mint for a trade paid by scanning, or null.</param>
    public async Task<(CreateTradeOutcome Outcome, TradeRow Trade)> CreateAsync(NewTrade t, string? qrBaseUrl, DateTimeOffset now, CancellationToken ct)
    {
        // The request's identity for idempotency: what the merchant asked for, not when it asked.
        var hash = RequestBody.Hash(t.Kind, t.AppId, System.Text.Encoding.UTF8.GetBytes(
            string.Join("\n", t.OutTradeNo, t.AmountMinor, t.Subject, t.Body, t.BuyerId, t.RoyaltyFreeze)));
        var existing = await trades.FindByOutTradeNoAsync(t.AppId, t.OutTradeNo, ct);
        if (await freezes.IsFrozenAsync(t.MerchantId, ct)) return (CreateTradeOutcome.MerchantFrozen, existing!);
        if (existing is not null) return Existing(existing, hash);

        var row = new TradeRow
        {
            trade_no = TradeStore.NewTradeNo(now), app_id = t.AppId, merchant_id = t.MerchantId, out_trade_no = t.OutTradeNo, kind = t.Kind,
            status = TradeStatus.WaitBuyerPay, total_amount = t.AmountMinor, currency = "CNY", subject = t.Subject, body = t.Body, buyer_id = t.BuyerId,
            royalty_freeze = t.RoyaltyFreeze ? 1 : 0, notify_url = t.NotifyUrl, request_hash = hash, fee_bps = t.FeeBps,
            qr_code = qrBaseUrl is null ? null : qrBaseUrl + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12)),
            expires_at_us = t.ExpiresAt.ToUnixMicroseconds(), created_at_us = now.ToUnixMicroseconds(),
        };
        var (stored, created) = await trades.CreateAsync(row, ct);
        return created ? (CreateTradeOutcome.Created, stored) : Existing(stored, hash);
    }

    private static (CreateTradeOutcome, TradeRow) Existing(TradeRow existing, string hash) =>
        (existing.request_hash == hash ? CreateTradeOutcome.Replayed : CreateTradeOutcome.ConflictsWithExisting, existing);
}
