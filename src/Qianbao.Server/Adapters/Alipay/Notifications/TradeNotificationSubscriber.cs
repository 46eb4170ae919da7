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
        // Reads per batch, not per event (issue 13): the batch's trades in one statement, each app's notify URL once, and the
        // coupons a trade used only when it has somewhere to be notified (most payments of a merchant without a URL need nothing).
        var named = events.Select(e => TradeNoOf(e.Event)).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (named.Count == 0) return;
        var found = await trades.FindManyAsync(named, ct);
        var appUrls = new Dictionary<string, string?>(StringComparer.Ordinal);
        var notified = new List<(StoredEvent Stored, TradeRow Trade, string? AppNotifyUrl, string EventName)>();
        foreach (var stored in events)
        {
            var eventName = stored.Event switch
            {
                TradePaid => "payment",
                TradeRefunded => "refund",
                TradeClosed => "close",
                _ => null,
            };
            if (eventName is null || !found.TryGetValue(TradeNoOf(stored.Event)!, out var trade)) continue;
            string? appNotifyUrl = null;
            if (trade.notify_url is null && !appUrls.TryGetValue(trade.app_id, out appNotifyUrl))
                appUrls[trade.app_id] = appNotifyUrl = await apps.NotifyUrlAsync(trade.app_id, ct);
            if (trade.notify_url is null && appNotifyUrl is null) continue; // not notified (NotificationOutbox.Queue would say the same)
            notified.Add((stored, trade, appNotifyUrl, eventName));
        }
        var discounts = await coupons.DiscountsForTradesAsync(
            [.. notified.Where(n => n.Trade.discount_amount > 0).Select(n => n.Trade.trade_no).Distinct(StringComparer.Ordinal)], ct);
        var queued = new List<QueuedNotification>();
        foreach (var (stored, trade, appNotifyUrl, eventName) in notified)
        {
            var used = discounts.GetValueOrDefault(trade.trade_no) ?? [];
            if (NotificationOutbox.Queue(trade, appNotifyUrl, eventName, Change(stored.Event!, trade), stored.OccurredAtUs, stored.EventId, used) is { } row)
                queued.Add(row);
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

    private static string? TradeNoOf(DomainEvent? e) => e switch
    {
        TradePaid p => p.TradeNo,
        TradeRefunded r => r.TradeNo,
        TradeClosed c => c.TradeNo,
        _ => null,
    };

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
