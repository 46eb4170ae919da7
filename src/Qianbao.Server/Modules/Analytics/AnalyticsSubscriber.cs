using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Modules.Analytics;

/// <summary>
/// Keeps the analytics rollups from the domain events: a durable subscriber (its own checkpoint). Exactly once: each batch is
/// one transaction that also moves the checkpoint (<see cref="EventBatch"/>); a batch that may repeat (the first after this
/// process took the lease, or after a failure) records every event's id in <c>analytics_seen</c> first, and an id already
/// there was applied before (by a process that did not move the checkpoint with its sums) and adds nothing. What other modules know is
/// asked before the transaction opens: the payers' identity facts (Identity opens them; only bucket numbers are stored) and
/// the campaigns behind a trade's discount (Marketing).
/// </summary>
internal sealed class AnalyticsSubscriber(AnalyticsStore store, PayerDemographics demographics, CouponRedemptions redemptions) : IEventSubscriber
{
    public const string SubscriberName = "analytics.rollups";

    /// <summary>Only amounts in yuan are summed: every trade and wallet movement is CNY today; another currency would not add up.</summary>
    public const string Currency = "CNY";

    private static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal)
    {
        EventTypes.NameOf<TradePaid>(), EventTypes.NameOf<TradeRefunded>(), EventTypes.NameOf<UserRegistered>(),
        EventTypes.NameOf<MerchantVerified>(), EventTypes.NameOf<TransferCompleted>(), EventTypes.NameOf<TopUpSucceeded>(),
        EventTypes.NameOf<WithdrawalSucceeded>(), EventTypes.NameOf<RedPacketCreated>(), EventTypes.NameOf<RedPacketClaimed>(),
        EventTypes.NameOf<CashbackPosted>(), EventTypes.NameOf<IdentityVerified>(),
    };

    public string Name => SubscriberName;

    public IReadOnlySet<string>? Handles => Types;

    public Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct) => HandleAsync(EventBatch.Unchecked(events), ct);

    /// <summary>The checkpoint commits with the sums (<see cref="EventBatch"/>); see <see cref="AnalyticsStore.ApplyAsync"/>.</summary>
    public async Task HandleAsync(EventBatch batch, CancellationToken ct)
    {
        var events = batch.Events;
        var payments = events.Select(e => e.Event).OfType<TradePaid>().Where(p => p.Currency == Currency).ToList();
        var facts = new Dictionary<Guid, IdentityFacts>();
        foreach (var chunk in payments.Select(p => p.BuyerId).Distinct().Chunk(PayerDemographics.UsersMax))
        {
            foreach (var (id, f) in await demographics.FactsAsync(chunk, ct)) facts[id] = f;
        }
        // One read for the batch's discounted trades (issue 13: it was two per trade).
        var discounts = await redemptions.DiscountsForTradesAsync([.. payments.Where(p => p.DiscountMinor > 0).Select(p => p.TradeNo).Distinct()], ct);
        var campaigns = discounts.ToDictionary(d => d.Key,
            d => (IReadOnlyList<(Guid CampaignId, long DiscountMinor)>)[.. d.Value.GroupBy(r => r.campaign_id).Select(g => (g.Key, g.Sum(r => r.discount_amount)))],
            StringComparer.Ordinal);

        var changes = new List<(Guid EventId, AnalyticsChange Change)>(events.Count);
        foreach (var stored in events)
        {
            if (Change(stored, facts, campaigns) is { } change) changes.Add((stored.EventId, change));
        }
        if (changes.Count > 0) await store.ApplyAsync(changes, batch, ct);
    }

    private static AnalyticsChange? Change(StoredEvent stored, IReadOnlyDictionary<Guid, IdentityFacts> facts,
        IReadOnlyDictionary<string, IReadOnlyList<(Guid CampaignId, long DiscountMinor)>> campaigns)
    {
        var at = stored.OccurredAtUs;
        return stored.Event switch
        {
            TradePaid p when p.Currency == Currency => new PaymentCounted(at, p.MerchantId, p.BuyerId, p.AmountMinor, p.DiscountMinor,
                Buckets.Of(facts.TryGetValue(p.BuyerId, out var f) ? f : null, ChinaCalendar.DateOf(ChinaCalendar.DayOf(at))),
                campaigns.GetValueOrDefault(p.TradeNo) ?? []),
            TradeRefunded r when r.Currency == Currency => new RefundCounted(at, r.MerchantId, r.AmountMinor),
            UserRegistered u => new UserCounted(at, u.UserId),
            IdentityVerified v => new VerifiedCounted(at, v.UserId),
            MerchantVerified m => new PlatformCounted(at, PlatformKind.MerchantVerified, 0, null),
            TransferCompleted t when t.Currency == Currency => new PlatformCounted(at, PlatformKind.Transfer, t.AmountMinor, t.FromUserId),
            TopUpSucceeded t when t.Currency == Currency => new PlatformCounted(at, PlatformKind.TopUp, t.AmountMinor, t.OwnerId),
            // The owner may be a merchant: a withdrawal counts as a transaction, not as an active user.
            WithdrawalSucceeded w when w.Currency == Currency => new PlatformCounted(at, PlatformKind.Withdrawal, w.AmountMinor, null),
            RedPacketCreated c when c.Currency == Currency => new PlatformCounted(at, PlatformKind.RedPacket, c.AmountMinor, c.SenderId),
            RedPacketClaimed c when c.Currency == Currency => new PlatformCounted(at, PlatformKind.RedPacketClaim, c.AmountMinor, c.ClaimerId),
            CashbackPosted c when c.Currency == Currency => new CashbackCounted(at, c.CampaignId, c.AmountMinor),
            _ => null,
        };
    }
}
