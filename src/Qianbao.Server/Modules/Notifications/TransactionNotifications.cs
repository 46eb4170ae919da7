using System.Globalization;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// Turns money events into transaction notifications: a durable subscriber (<c>notifications.transactions</c>) of payments,
/// transfers (sender and recipient), top-ups and withdrawals (succeeded or failed), refunds, red packets (claimed, returned)
/// complaint updates and cashback posted; a transfer of at least <c>Qianbao:Messaging:LargeTransferAlertMinYuan</c> is also a security alert
/// to its sender. Each notification's dedupe key is the event id and the person's part in it, so a batch
/// delivered again (a crash after the commit, a lapsed lease) notifies nobody twice. Names are read before the write
/// transaction; the whole batch's notifications are written set-based (<see cref="Notifier.NotifyManyAsync"/>) and commit together.
/// </summary>
internal sealed class TransactionNotificationSubscriber(Db db, Notifier notifier, UserDirectory users, MerchantDirectory merchants, NotificationOptions options)
    : IEventSubscriber
{
    public const string SubscriberName = "notifications.transactions";

    private static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal)
    {
        EventTypes.NameOf<TradePaid>(), EventTypes.NameOf<TradeRefunded>(), EventTypes.NameOf<TransferCompleted>(),
        EventTypes.NameOf<TopUpSucceeded>(), EventTypes.NameOf<TopUpFailed>(), EventTypes.NameOf<WithdrawalSucceeded>(),
        EventTypes.NameOf<WithdrawalFailed>(), EventTypes.NameOf<RedPacketClaimed>(), EventTypes.NameOf<RedPacketExpired>(),
        EventTypes.NameOf<ComplaintReplied>(), EventTypes.NameOf<ComplaintResolved>(), EventTypes.NameOf<CashbackPosted>(),
    };

    public string Name => SubscriberName;

    public IReadOnlySet<string>? Handles => Types;

    public Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct) => HandleAsync(EventBatch.Unchecked(events), ct);

    /// <summary>
    /// The checkpoint commits with the notifications (<see cref="EventBatch"/>), so a batch that may not repeat has none yet:
    /// the dedupe probe is skipped for it (the insert's <c>ON CONFLICT</c> still keeps a fact from being notified twice).
    /// </summary>
    public async Task HandleAsync(EventBatch batch, CancellationToken ct)
    {
        var events = batch.Events;
        var requests = new List<NotificationRequest>();
        var merchantNames = new Dictionary<Guid, string>();
        async Task<string> MerchantAsync(Guid id)
        {
            if (!merchantNames.TryGetValue(id, out var name)) merchantNames[id] = name = await merchants.NameAsync(id, ct) ?? "";
            return name;
        }
        var people = events.Select(e => e.Event).SelectMany<DomainEvent?, Guid>(e => e switch
        {
            TransferCompleted t => [t.FromUserId, t.ToUserId],
            RedPacketClaimed c => [c.SenderId],
            _ => [],
        }).Distinct().ToList();
        IReadOnlyDictionary<Guid, string> masked = people.Count == 0 ? new Dictionary<Guid, string>() : await users.MaskedNamesAsync(people, ct);
        string Person(Guid id) => masked.GetValueOrDefault(id) ?? "";

        foreach (var stored in events)
        {
            NotificationRequest For(Guid userId, string type, string role, params (string Key, string Value)[] vars) =>
                new(userId, NotificationCategory.Transaction, type, "event:" + stored.EventId.ToString("N") + ":" + role,
                    vars.ToDictionary(v => v.Key, v => v.Value));
            switch (stored.Event)
            {
                case TradePaid p:
                    requests.Add(For(p.BuyerId, "trade_paid", "buyer", ("amount", Yuan(p.AmountMinor - p.DiscountMinor)), ("merchant", await MerchantAsync(p.MerchantId))));
                    break;
                case TradeRefunded r:
                    requests.Add(For(r.BuyerId, "trade_refunded", "buyer", ("amount", Yuan(r.AmountMinor)), ("merchant", await MerchantAsync(r.MerchantId))));
                    break;
                case TransferCompleted t:
                    requests.Add(For(t.FromUserId, "transfer_sent", "sender", ("amount", Yuan(t.AmountMinor)), ("counterparty", Person(t.ToUserId))));
                    requests.Add(For(t.ToUserId, "transfer_received", "recipient", ("amount", Yuan(t.AmountMinor)), ("counterparty", Person(t.FromUserId))));
                    // A large transfer is also a security alert to the sender (every channel, never held or capped).
                    if (t.AmountMinor >= options.LargeTransferAlertMinYuan * 100L)
                        requests.Add(For(t.FromUserId, "large_transfer", "large", ("amount", Yuan(t.AmountMinor)), ("counterparty", Person(t.ToUserId)))
                            with { Category = NotificationCategory.Security });
                    break;
                case TopUpSucceeded s:
                    requests.Add(For(s.OwnerId, "top_up_succeeded", "owner", ("amount", Yuan(s.AmountMinor))));
                    break;
                case TopUpFailed f:
                    requests.Add(For(f.OwnerId, "top_up_failed", "owner", ("amount", Yuan(f.AmountMinor))));
                    break;
                case WithdrawalSucceeded s:
                    requests.Add(For(s.OwnerId, "withdrawal_succeeded", "owner", ("amount", Yuan(s.AmountMinor))));
                    break;
                case WithdrawalFailed f:
                    requests.Add(For(f.OwnerId, "withdrawal_failed", "owner", ("amount", Yuan(f.AmountMinor))));
                    break;
                case RedPacketClaimed c:
                    requests.Add(For(c.ClaimerId, "red_packet_received", "claimer", ("amount", Yuan(c.AmountMinor)), ("counterparty", Person(c.SenderId))));
                    break;
                case RedPacketExpired x when x.RefundedMinor > 0:
                    requests.Add(For(x.SenderId, "red_packet_returned", "sender", ("amount", Yuan(x.RefundedMinor))));
                    break;
                case CashbackPosted c when c.AmountMinor > 0:
                    requests.Add(For(c.UserId, "cashback_posted", "user", ("amount", Yuan(c.AmountMinor))));
                    break;
                case ComplaintReplied r:
                    requests.Add(For(r.UserId, "complaint_replied", "complainant"));
                    break;
                case ComplaintResolved r:
                    requests.Add(For(r.UserId, "complaint_resolved", "complainant", ("decision", r.Decision)));
                    break;
            }
        }
        if (requests.Count == 0) return;
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        await batch.CommitCheckpointAsync(connection, tx, ct);
        await notifier.NotifyManyAsync(connection, tx, requests, ct, probe: batch.MayRepeat);
        await tx.CommitAsync(ct);
    }

    /// <summary>Minor units as yuan with two decimals (23.50), the way the templates put them after ¥.</summary>
    public static string Yuan(long minor) => (minor / 100m).ToString("0.00", CultureInfo.InvariantCulture);
}
