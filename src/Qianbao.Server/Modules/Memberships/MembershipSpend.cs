using Dapper;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Memberships;

/// <summary>
/// Keeps every user's spend at every merchant from the trade events: a <c>trade.paid</c> adds the amount, a
/// <c>trade.refunded</c> takes the refund off, each as one <c>membership_spend</c> row keyed by the event id (so a batch
/// delivered again writes nothing twice). Kept for everyone, not only card holders, so a user joining a programme is at
/// once at the level their last 12 months of spend there reach.
/// </summary>
internal sealed class MembershipSpendSubscriber(Db db) : IEventSubscriber
{
    public const string SubscriberName = "memberships.spend";

    private static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal)
    {
        EventTypes.NameOf<TradePaid>(), EventTypes.NameOf<TradeRefunded>(),
    };

    public string Name => SubscriberName;

    public IReadOnlySet<string>? Handles => Types;

    public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct)
    {
        var rows = new List<object>();
        foreach (var stored in events)
        {
            switch (stored.Event)
            {
                case TradePaid p:
                    rows.Add(new { event_id = stored.EventId.ToString("N"), trade_no = p.TradeNo, merchant_id = p.MerchantId, user_id = p.BuyerId,
                        amount = p.AmountMinor, currency = p.Currency, at_us = stored.OccurredAtUs });
                    break;
                case TradeRefunded r:
                    rows.Add(new { event_id = stored.EventId.ToString("N"), trade_no = r.TradeNo, merchant_id = r.MerchantId, user_id = r.BuyerId,
                        amount = -r.AmountMinor, currency = r.Currency, at_us = stored.OccurredAtUs });
                    break;
            }
        }
        if (rows.Count == 0) return;
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO membership_spend (event_id, trade_no, merchant_id, user_id, amount, currency, at_us)
            VALUES (@event_id, @trade_no, @merchant_id, @user_id, @amount, @currency, @at_us)
            ON CONFLICT (event_id) DO NOTHING
            """, rows, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
    }
}

/// <summary>The member level's points multiplier, plugged into the points earning (see <see cref="IPointsMultiplier"/>).</summary>
internal sealed class MembershipPointsMultiplier(Memberships memberships) : IPointsMultiplier
{
    public async ValueTask<int> MultiplierBpsAsync(PointsEarningContext payment, CancellationToken ct) =>
        await memberships.MultiplierBpsAsync(payment.UserId, payment.MerchantId, payment.PaidAtUs, ct);
}
