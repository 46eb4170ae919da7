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
        var rows = new List<SpendRow>();
        foreach (var stored in events)
        {
            switch (stored.Event)
            {
                case TradePaid p:
                    rows.Add(new SpendRow(stored.EventId.ToString("N"), p.TradeNo, p.MerchantId, p.BuyerId, p.AmountMinor, p.Currency, stored.OccurredAtUs));
                    break;
                case TradeRefunded r:
                    rows.Add(new SpendRow(stored.EventId.ToString("N"), r.TradeNo, r.MerchantId, r.BuyerId, -r.AmountMinor, r.Currency, stored.OccurredAtUs));
                    break;
            }
        }
        if (rows.Count == 0) return;
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        if (connection is Npgsql.NpgsqlConnection)
        {
            // One insert for the batch (Dapper would run the statement below once per row).
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO membership_spend (event_id, trade_no, merchant_id, user_id, amount, currency, at_us)
                SELECT * FROM unnest(@ids::text[], @trades::text[], @merchants::uuid[], @users::uuid[], @amounts::bigint[], @currencies::text[], @ats::bigint[])
                ON CONFLICT (event_id) DO NOTHING
                """, new
            {
                ids = rows.Select(r => r.EventId).ToArray(), trades = rows.Select(r => r.TradeNo).ToArray(), merchants = rows.Select(r => r.MerchantId).ToArray(),
                users = rows.Select(r => r.UserId).ToArray(), amounts = rows.Select(r => r.Amount).ToArray(), currencies = rows.Select(r => r.Currency).ToArray(),
                ats = rows.Select(r => r.AtUs).ToArray(),
            }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return;
        }
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO membership_spend (event_id, trade_no, merchant_id, user_id, amount, currency, at_us)
            VALUES (@EventId, @TradeNo, @MerchantId, @UserId, @Amount, @Currency, @AtUs)
            ON CONFLICT (event_id) DO NOTHING
            """, rows, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
    }
}

internal sealed record SpendRow(string EventId, string TradeNo, Guid MerchantId, Guid UserId, long Amount, string Currency, long AtUs);

/// <summary>The member level's points multiplier, plugged into the points earning (see <see cref="IPointsMultiplier"/>).</summary>
internal sealed class MembershipPointsMultiplier(Memberships memberships) : IPointsMultiplier
{
    public async ValueTask<int> MultiplierBpsAsync(PointsEarningContext payment, CancellationToken ct) =>
        await memberships.MultiplierBpsAsync(payment.UserId, payment.MerchantId, payment.PaidAtUs, ct);

    /// <summary>One read of the batch's card holders; only a payment by a holder at the card's merchant reads its level.</summary>
    public async ValueTask<int[]> MultipliersBpsAsync(IReadOnlyList<PointsEarningContext> payments, CancellationToken ct)
    {
        var factors = new int[payments.Count];
        var holders = await memberships.CardHoldersAsync(payments.Select(p => p.UserId).Distinct().ToList(), ct);
        for (var i = 0; i < factors.Length; i++)
            factors[i] = holders.Contains((payments[i].UserId, payments[i].MerchantId)) ? await MultiplierBpsAsync(payments[i], ct) : 10_000;
        return factors;
    }
}
