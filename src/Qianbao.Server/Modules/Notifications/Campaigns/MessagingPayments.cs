using Dapper;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>
/// Keeps <c>messaging_payments</c>, this module's own copy of who paid which merchant how much and when: the facts of
/// segments (paid within, spend in 30 days, merchants) and of payment conversions. A durable subscriber of
/// <c>trade.paid</c>; the trade number is the key, so a redelivered event writes nothing twice.
/// </summary>
internal sealed class MessagingPaymentsSubscriber(Db db) : IEventSubscriber
{
    public const string SubscriberName = "messaging.payments";

    private static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal) { EventTypes.NameOf<TradePaid>() };

    public string Name => SubscriberName;

    public IReadOnlySet<string>? Handles => Types;

    public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        if (connection is Npgsql.NpgsqlConnection)
        {
            // The batch's payments in one insert (set-based, as the transfer subscribers are).
            var rows = events.Where(e => e.Event is TradePaid).Select(e => (Paid: (TradePaid)e.Event!, e.OccurredAtUs)).ToList();
            if (rows.Count > 0)
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO messaging_payments (trade_no, user_id, merchant_id, amount_minor, paid_at_us)
                    SELECT * FROM unnest(@trades::text[], @users::uuid[], @merchants::uuid[], @amounts::bigint[], @ats::bigint[])
                    ON CONFLICT (trade_no) DO NOTHING
                    """, new
                {
                    trades = rows.Select(r => r.Paid.TradeNo).ToArray(), users = rows.Select(r => r.Paid.BuyerId).ToArray(),
                    merchants = rows.Select(r => r.Paid.MerchantId).ToArray(),
                    amounts = rows.Select(r => r.Paid.AmountMinor - r.Paid.DiscountMinor - r.Paid.PointsMinor).ToArray(),
                    ats = rows.Select(r => r.OccurredAtUs).ToArray(),
                }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return;
        }
        foreach (var stored in events)
        {
            if (stored.Event is not TradePaid paid) continue;
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO messaging_payments (trade_no, user_id, merchant_id, amount_minor, paid_at_us) VALUES (@TradeNo, @BuyerId, @MerchantId, @amount, @at)
                ON CONFLICT (trade_no) DO NOTHING
                """, new { paid.TradeNo, paid.BuyerId, paid.MerchantId, amount = paid.AmountMinor - paid.DiscountMinor - paid.PointsMinor, at = stored.OccurredAtUs },
                tx, cancellationToken: ct));
        }
        await tx.CommitAsync(ct);
    }
}

/// <summary>Payment facts of <c>messaging_payments</c> for segments and conversions.</summary>
internal static class MessagingPayments
{
    /// <summary>People with a payment at or after <paramref name="sinceUs"/> (at one of <paramref name="merchantIds"/> when given).</summary>
    public static async Task<HashSet<Guid>> PayersAsync(Db db, long sinceUs, IReadOnlyList<Guid>? merchantIds, CancellationToken ct)
    {
        var (filter, p) = MerchantFilter(db, merchantIds, new DynamicParameters(new { sinceUs }));
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<Guid>(new CommandDefinition(
            $"SELECT DISTINCT user_id FROM messaging_payments WHERE paid_at_us >= @sinceUs{filter}", p, cancellationToken: ct))).ToHashSet();
    }

    /// <summary>People whose payments since <paramref name="sinceUs"/> add up to at least <paramref name="minMinor"/>.</summary>
    public static async Task<HashSet<Guid>> SpendersAsync(Db db, long sinceUs, long minMinor, IReadOnlyList<Guid>? merchantIds, CancellationToken ct)
    {
        var (filter, p) = MerchantFilter(db, merchantIds, new DynamicParameters(new { sinceUs, minMinor }));
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<Guid>(new CommandDefinition(
            $"SELECT user_id FROM messaging_payments WHERE paid_at_us >= @sinceUs{filter} GROUP BY user_id HAVING SUM(amount_minor) >= @minMinor", p,
            cancellationToken: ct))).ToHashSet();
    }

    /// <summary>(user, time) of payments at or after <paramref name="fromUs"/>, at one of <paramref name="merchantIds"/> when given.</summary>
    public static async Task<List<(Guid UserId, long AtUs)>> SinceAsync(Db db, long fromUs, IReadOnlyList<Guid>? merchantIds, CancellationToken ct)
    {
        var (filter, p) = MerchantFilter(db, merchantIds, new DynamicParameters(new { sinceUs = fromUs }));
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<(Guid, long)>(new CommandDefinition(
            $"SELECT user_id, paid_at_us FROM messaging_payments WHERE paid_at_us >= @sinceUs{filter}", p, cancellationToken: ct))).AsList();
    }

    private static (string Filter, DynamicParameters P) MerchantFilter(Db db, IReadOnlyList<Guid>? merchantIds, DynamicParameters p)
    {
        if (merchantIds is not { Count: > 0 }) return ("", p);
        var (sql, ids) = db.IdIn("merchant_id", merchantIds);
        p.Add("ids", ids);
        return (" AND " + sql, p);
    }
}
