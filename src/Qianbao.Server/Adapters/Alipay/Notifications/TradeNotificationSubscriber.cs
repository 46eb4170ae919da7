using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Adapters.Alipay.Notifications;

/// <summary>
/// Merchant notifications as one subscriber of the domain events: a trade paid, refunded or closed queues its signed
/// <c>trade_status_sync</c> notification in the outbox (<c>notify_deliveries</c>) for the dispatcher to send. The row's
/// id is the event's id, so a redelivered event queues nothing twice. A trade with no notify URL (neither its own nor
/// its app's) is not notified.
/// </summary>
internal sealed class TradeNotificationSubscriber(Db db, TradeStore trades, MerchantApps apps, NotificationDispatcher dispatcher,
    Modules.Marketing.CouponRedemptions coupons) : IEventSubscriber
{
    private static readonly IReadOnlySet<string> Notified = new HashSet<string>(StringComparer.Ordinal)
    {
        EventTypes.NameOf<TradePaid>(), EventTypes.NameOf<TradeRefunded>(), EventTypes.NameOf<TradeClosed>(),
    };

    public string Name => "alipay.trade-notifications";

    public IReadOnlySet<string>? Handles => Notified;

    public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct)
    {
        var queued = new List<QueuedNotification>();
        foreach (var stored in events)
        {
            var (tradeNo, eventName) = stored.Event switch
            {
                TradePaid p => (p.TradeNo, "payment"),
                TradeRefunded r => (r.TradeNo, "refund"),
                TradeClosed c => (c.TradeNo, "close"),
                _ => (null, null),
            };
            if (tradeNo is null) continue;
            var trade = await trades.FindAsync(tradeNo, ct);
            if (trade is null) continue;
            var appNotifyUrl = trade.notify_url is null ? await apps.NotifyUrlAsync(trade.app_id, ct) : null;
            var change = Change(stored.Event!, trade);
            var used = trade.discount_amount > 0 ? await coupons.DiscountsForTradeAsync(trade.trade_no, ct) : [];
            if (NotificationOutbox.Queue(trade, appNotifyUrl, eventName!, change, stored.OccurredAtUs, stored.EventId, used) is { } row) queued.Add(row);
        }
        if (queued.Count == 0) return;
        await using (var connection = await db.OpenAsync(ct))
        await using (var tx = await connection.BeginTransactionAsync(ct))
        {
            await NotificationOutbox.InsertAsync(connection, tx, queued, ct);
            await tx.CommitAsync(ct);
        }
        dispatcher.Nudge();
    }

    /// <summary>The trade as the event left it (the stored row may have moved on since).</summary>
    private static TradeChange Change(DomainEvent e, TradeRow trade) => e switch
    {
        TradePaid p => new TradeChange(TradeStatus.Success, 0, p.BuyerId, PaidAtUs: e.OccurredAtUs),
        TradeRefunded r when r.RefundedTotalMinor == trade.total_amount =>
            new TradeChange(TradeStatus.Closed, r.RefundedTotalMinor, RefundedAtUs: e.OccurredAtUs, ClosedAtUs: e.OccurredAtUs, OutBizNo: r.OutRequestNo),
        TradeRefunded r => new TradeChange(TradeStatus.Success, r.RefundedTotalMinor, RefundedAtUs: e.OccurredAtUs, OutBizNo: r.OutRequestNo),
        TradeClosed => new TradeChange(TradeStatus.Closed, 0, ClosedAtUs: e.OccurredAtUs),
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "not a notified trade event"),
    };
}
