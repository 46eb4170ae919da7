using System.Text.Json;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Adapters.Alipay.Methods;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// Creates the trade row shared by precreate, create and pay. <c>out_trade_no</c> is the merchant's
/// idempotency key per app: the same request again answers the same trade; a different request under the same
/// <c>out_trade_no</c> answers <c>ACQ.CONTEXT_INCONSISTENT</c>.
/// </summary>
public sealed class TradeCreation(TradeStore trades)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(90);

    public async Task<(TradeRow? Trade, GatewayResult? Error)> CreateAsync(GatewayContext c, string kind, Guid? buyerId, string? qrBaseUrl, CancellationToken ct)
    {
        if (Parse(c, kind, out var terms) is { } invalid) return (null, invalid);
        var (outTradeNo, amount, subject, body, expiresAt, freeze) = terms;

        // The request's identity for idempotency: what the merchant asked for, not when it asked.
        var hash = RequestBody.Hash(kind, c.App.app_id, System.Text.Encoding.UTF8.GetBytes(
            string.Join("\n", outTradeNo, amount, subject, body, buyerId, freeze)));
        var existing = await trades.FindByOutTradeNoAsync(c.App.app_id, outTradeNo, ct);
        if (existing is not null) return Existing(existing, hash);

        var now = c.Now;
        var tradeNo = TradeStore.NewTradeNo(now);
        var row = new TradeRow
        {
            trade_no = tradeNo, app_id = c.App.app_id, merchant_id = c.App.merchant_id, out_trade_no = outTradeNo, kind = kind,
            status = TradeStatus.WaitBuyerPay, total_amount = amount, currency = "CNY", subject = subject, body = body, buyer_id = buyerId,
            royalty_freeze = freeze ? 1 : 0, notify_url = c.Request.NotifyUrl, request_hash = hash,
            qr_code = qrBaseUrl is null ? null : qrBaseUrl + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12)),
            expires_at_us = expiresAt.ToUnixMicroseconds(), created_at_us = now.ToUnixMicroseconds(),
        };
        var (stored, created) = await trades.CreateAsync(row, ct);
        return created ? (stored, null) : Existing(stored, hash);
    }

    /// <summary>
    /// Checks the request's trade fields without touching anything: the error <see cref="CreateAsync"/> would answer,
    /// or null. Lets a caller refuse a malformed request before it spends something, such as a payment code.
    /// </summary>
    public static GatewayResult? Validate(GatewayContext c, string kind) => Parse(c, kind, out _);

    private readonly record struct Terms(string OutTradeNo, long Amount, string Subject, string? Body, DateTimeOffset ExpiresAt, bool Freeze);

    private static GatewayResult? Parse(GatewayContext c, string kind, out Terms terms)
    {
        terms = default;
        var biz = c.Biz;
        if (biz.Require("out_trade_no", TradeFields.OutTradeNoLengthMax, out var outTradeNo) is { } e1) return e1;
        if (biz.RequireAmount("total_amount", out var amount) is { } e2) return e2;
        if (biz.Require("subject", TradeFields.SubjectLengthMax, out var subject) is { } e3) return e3;
        if (biz.Optional("body", TradeFields.BodyLengthMax, out var body) is { } e4) return e4;
        var expiresAt = c.Now + DefaultTimeout;
        var timeoutKey = kind == "precreate" && biz.String("qr_code_timeout_express") is not null ? "qr_code_timeout_express" : "timeout_express";
        var timeoutText = biz.String(timeoutKey);
        // Out of Alipay's range (1m..15d, or 1c) is the caller's mistake, answered as one, never an overflow.
        if (timeoutText is not null && !BizContent.TryParseTimeout(timeoutText, c.Now, out expiresAt))
            return GatewayResult.InvalidParameter($"参数 {timeoutKey} 不合法，取值范围 1m～15d 或 1c");
        var freeze = biz.ValueKind == JsonValueKind.Object && biz.TryGetProperty("extend_params", out var ext) && ext.ValueKind == JsonValueKind.Object
                     && ext.TryGetProperty("royalty_freeze", out var rf) && (rf.ValueKind == JsonValueKind.True || (rf.ValueKind == JsonValueKind.String && rf.GetString() == "true"));
        terms = new Terms(outTradeNo, amount, subject, body, expiresAt, freeze);
        return null;
    }

    private static (TradeRow?, GatewayResult?) Existing(TradeRow existing, string hash) =>
        existing.request_hash == hash
            ? (existing, null)
            : (null, GatewayResult.Business(GatewaySubCodes.ContextInconsistent, "交易信息被篡改", Field.Of("out_trade_no", existing.out_trade_no)));
}
