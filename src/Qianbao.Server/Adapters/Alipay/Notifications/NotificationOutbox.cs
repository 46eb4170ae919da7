using System.Data.Common;
using System.Text.Json;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Adapters.Alipay.Notifications;

/// <summary>
/// Writes asynchronous trade notifications into the durable outbox (<c>notify_deliveries</c>), one per trade domain
/// event (<see cref="TradeNotificationSubscriber"/>). The dispatcher signs and sends them, retrying with the
/// same <c>notify_id</c>. Fields are stored unsigned: signing happens at send time with the current platform key.
/// </summary>
internal static class NotificationOutbox
{
    public const string InsertSql = """
        INSERT INTO notify_deliveries (id, notify_id, trade_no, merchant_id, event, url, fields_json, status, attempts, next_attempt_at_us, created_at_us)
        VALUES (@id, @notify_id, @trade_no, @merchant_id, @event, @url, @fields_json, 'pending', 0, @now, @now)
        ON CONFLICT (id) DO NOTHING
        """;

    /// <summary>
    /// The outbox row for <paramref name="trade"/> as it stands after the change, or null when the trade has no
    /// notify URL (neither its own nor its app's).
    /// </summary>
    /// <param name="change">The trade's new state: status, refund totals and the event's own times.</param>
    /// <param name="id">The row's id and notify_id: the domain event's id, so queuing the same event twice queues one row.</param>
    public static QueuedNotification? Queue(TradeRow trade, string? appNotifyUrl, string eventName, TradeChange change, long nowUs, Guid id,
        IReadOnlyList<Modules.Marketing.RedemptionRow>? coupons = null)
    {
        var url = trade.notify_url ?? appNotifyUrl;
        if (url is null) return null;
        var fields = Fields(trade, change, notifyId: id.ToString("N"), coupons ?? []);
        return new QueuedNotification(id, trade.trade_no, trade.merchant_id, eventName, url, JsonSerializer.Serialize(fields), nowUs);
    }

    /// <summary>Inserts outbox rows inside a caller's transaction: the ledger batch's, or its own for changes that move no money (a close).</summary>
    public static ValueTask InsertAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<QueuedNotification> rows, CancellationToken ct) =>
        SqlBatch.ExecuteAsync(connection, tx, [.. rows.Select(n => new SqlStatement(InsertSql, new Dictionary<string, object?>
        {
            ["id"] = n.Id, ["notify_id"] = n.Id.ToString("N"), ["trade_no"] = n.TradeNo, ["merchant_id"] = n.MerchantId, ["event"] = n.EventName, ["url"] = n.Url,
            ["fields_json"] = n.FieldsJson, ["now"] = n.CreatedAtUs,
        }))], ct);

    private static SortedDictionary<string, string> Fields(TradeRow t, TradeChange c, string notifyId, IReadOnlyList<Modules.Marketing.RedemptionRow> coupons)
    {
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["notify_type"] = "trade_status_sync",
            ["notify_id"] = notifyId,
            ["app_id"] = t.app_id,
            ["charset"] = "utf-8",
            ["version"] = "1.0",
            ["trade_no"] = t.trade_no,
            ["out_trade_no"] = t.out_trade_no,
            ["seller_id"] = t.merchant_id.ToString("N"),
            ["trade_status"] = c.Status,
            ["total_amount"] = AlipayAmount.FormatYuan(t.total_amount),
            ["subject"] = t.subject,
            ["gmt_create"] = AlipayTime.ToChinaString(TimeProviderExtensions.FromUnixMicroseconds(t.created_at_us)),
        };
        var buyer = c.BuyerId ?? t.buyer_id;
        if (buyer is not null) fields["buyer_id"] = buyer.Value.ToString("N");
        var paidAt = c.PaidAtUs ?? t.paid_at_us;
        if (paidAt is not null)
        {
            fields["gmt_payment"] = AlipayTime.ToChinaString(TimeProviderExtensions.FromUnixMicroseconds(paidAt.Value));
            // As the query reports them (TradeFields.PaidAmounts); a list goes as its JSON text, as Alipay posts it.
            foreach (var (name, value) in Methods.TradeFields.PaidAmounts(t, coupons, c.RefundedAmount))
                fields[name] = value as string ?? JsonSerializer.Serialize(value);
        }
        if (c.RefundedAmount > 0) fields["refund_fee"] = AlipayAmount.FormatYuan(c.RefundedAmount);
        if (c.RefundedAtUs is not null) fields["gmt_refund"] = AlipayTime.ToChinaString(TimeProviderExtensions.FromUnixMicroseconds(c.RefundedAtUs.Value));
        if (c.OutBizNo is not null) fields["out_biz_no"] = c.OutBizNo;
        if (c.ClosedAtUs is not null) fields["gmt_close"] = AlipayTime.ToChinaString(TimeProviderExtensions.FromUnixMicroseconds(c.ClosedAtUs.Value));
        return fields;
    }
}

/// <summary>A notification row to queue in the outbox.</summary>
internal sealed record QueuedNotification(Guid Id, string TradeNo, Guid MerchantId, string EventName, string Url, string FieldsJson, long CreatedAtUs);

/// <summary>What a notification announces about a trade, beyond what the stored row says.</summary>
internal sealed record TradeChange(string Status, long RefundedAmount, Guid? BuyerId = null, long? PaidAtUs = null,
    long? RefundedAtUs = null, long? ClosedAtUs = null, string? OutBizNo = null);
