using Qianbao.Server.Hosting;

namespace Qianbao.Server.Modules.Acquiring.MerchantApi;

/// <summary>How the native merchant API shows a trade: amounts in fen, times as instants, the buyer not named (the gateway's business).</summary>
internal static class MerchantTradeJson
{
    public static object Of(TradeRow t, long nowUs) => new
    {
        trade_no = t.trade_no, out_trade_no = t.out_trade_no, app_id = t.app_id, kind = t.kind, status = t.EffectiveStatus(nowUs),
        total_amount = t.total_amount, discount_amount = t.discount_amount, points_amount = t.points_amount, buyer_pay_amount = t.PayAmount,
        fee_amount = t.fee_amount, refunded_amount = t.refunded_amount, currency = t.currency, subject = t.subject,
        created_at = TimeProviderExtensions.FromUnixMicroseconds(t.created_at_us),
        paid_at = t.paid_at_us is { } paid ? TimeProviderExtensions.FromUnixMicroseconds(paid) : (DateTimeOffset?)null,
        closed_at = t.closed_at_us is { } closed ? TimeProviderExtensions.FromUnixMicroseconds(closed) : (DateTimeOffset?)null,
    };

    /// <summary>The start of a China-time (UTC+8) calendar day, Unix microseconds.</summary>
    public static long ChinaDayStartUs(DateOnly day) => new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.FromHours(8)).ToUnixTimeMilliseconds() * 1000;
}
