using System.Data.Common;
using Dapper;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Recommendations;

/// <summary>
/// Keeps the recommendations' own rollups from <c>trade.paid</c> (a durable subscriber, <c>recommendations.payments</c>;
/// never Acquiring's tables): per person and merchant the payments, per merchant its payers, and per pair of merchants how
/// many people paid at both. A person's first payment at a merchant adds them to its payers and one to the pair with each
/// merchant they paid at before (both directions). <c>reco_seen</c> makes a redelivered event count once, in the same
/// transaction as the counts.
/// </summary>
internal sealed class RecommendationRollup(Db db) : IEventSubscriber
{
    public const string SubscriberName = "recommendations.payments";

    private static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal) { EventTypes.NameOf<TradePaid>() };

    public string Name => SubscriberName;

    public IReadOnlySet<string>? Handles => Types;

    public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct)
    {
        var paid = events.Where(e => e.Event is TradePaid).ToList();
        if (paid.Count == 0) return;
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        foreach (var stored in paid) await CountAsync(connection, tx, stored.EventId, (TradePaid)stored.Event!, stored.OccurredAtUs, ct);
        await tx.CommitAsync(ct);
    }

    private static async Task CountAsync(DbConnection connection, DbTransaction tx, Guid eventId, TradePaid p, long atUs, CancellationToken ct)
    {
        if (await connection.ExecuteAsync(new CommandDefinition("INSERT INTO reco_seen (event_id) VALUES (@eventId) ON CONFLICT (event_id) DO NOTHING",
                new { eventId }, tx, cancellationToken: ct)) == 0) return;
        var payments = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO reco_user_merchants (user_id, merchant_id, payments, last_paid_at_us) VALUES (@BuyerId, @MerchantId, 1, @atUs)
            ON CONFLICT (user_id, merchant_id) DO UPDATE SET payments = reco_user_merchants.payments + 1,
                last_paid_at_us = CASE WHEN excluded.last_paid_at_us > reco_user_merchants.last_paid_at_us THEN excluded.last_paid_at_us
                                       ELSE reco_user_merchants.last_paid_at_us END
            RETURNING payments
            """, new { p.BuyerId, p.MerchantId, atUs }, tx, cancellationToken: ct));
        if (payments != 1) return;
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO reco_merchants (merchant_id, payers) VALUES (@MerchantId, 1)
            ON CONFLICT (merchant_id) DO UPDATE SET payers = reco_merchants.payers + 1
            """, new { p.MerchantId }, tx, cancellationToken: ct));
        var others = (await connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT merchant_id FROM reco_user_merchants WHERE user_id = @BuyerId AND merchant_id <> @MerchantId",
            new { p.BuyerId, p.MerchantId }, tx, cancellationToken: ct))).AsList();
        foreach (var other in others)
            foreach (var (a, b) in new[] { (p.MerchantId, other), (other, p.MerchantId) })
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO reco_pairs (merchant_a, merchant_b, people) VALUES (@a, @b, 1)
                    ON CONFLICT (merchant_a, merchant_b) DO UPDATE SET people = reco_pairs.people + 1
                    """, new { a, b }, tx, cancellationToken: ct));
    }
}
