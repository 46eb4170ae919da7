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
        if (connection is Npgsql.NpgsqlConnection)
        {
            await CountManyAsync(connection, tx, paid, ct);
            await tx.CommitAsync(ct);
            return;
        }
        foreach (var stored in paid) await CountAsync(connection, tx, stored.EventId, (TradePaid)stored.Event!, stored.OccurredAtUs, ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// The same counts for a whole batch on PostgreSQL, one statement per step: the events seen, the (person, merchant) payments
    /// summed per pair, the merchants' new payers, and the pairs of merchants. What the one-by-one path adds for a person whose
    /// first payment at merchants N comes in the batch is one (both directions) for every pair of their merchants with at least
    /// one side in N, whatever the order within the batch: that is what is added here.
    /// </summary>
    private static async Task CountManyAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<StoredEvent> paid, CancellationToken ct)
    {
        var first = (await connection.QueryAsync<Guid>(new CommandDefinition(
            "INSERT INTO reco_seen (event_id) SELECT * FROM unnest(@ids::uuid[]) ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            new { ids = paid.Select(e => e.EventId).ToArray() }, tx, cancellationToken: ct))).ToHashSet();
        var sums = new Dictionary<(Guid User, Guid Merchant), (long Count, long LastAtUs)>();
        foreach (var stored in paid.Where(e => first.Contains(e.EventId)))
        {
            var p = (TradePaid)stored.Event!;
            var sum = sums.GetValueOrDefault((p.BuyerId, p.MerchantId));
            sums[(p.BuyerId, p.MerchantId)] = (sum.Count + 1, Math.Max(sum.LastAtUs, stored.OccurredAtUs));
        }
        if (sums.Count == 0) return;
        var keys = sums.Keys.OrderBy(k => k.User).ThenBy(k => k.Merchant).ToList();
        var after = (await connection.QueryAsync<(Guid User, Guid Merchant, long Payments)>(new CommandDefinition("""
            INSERT INTO reco_user_merchants (user_id, merchant_id, payments, last_paid_at_us)
            SELECT * FROM unnest(@users::uuid[], @merchants::uuid[], @counts::bigint[], @ats::bigint[])
            ON CONFLICT (user_id, merchant_id) DO UPDATE SET payments = reco_user_merchants.payments + excluded.payments,
                last_paid_at_us = CASE WHEN excluded.last_paid_at_us > reco_user_merchants.last_paid_at_us THEN excluded.last_paid_at_us
                                       ELSE reco_user_merchants.last_paid_at_us END
            RETURNING user_id, merchant_id, payments
            """, new
        {
            users = keys.Select(k => k.User).ToArray(), merchants = keys.Select(k => k.Merchant).ToArray(),
            counts = keys.Select(k => sums[k].Count).ToArray(), ats = keys.Select(k => sums[k].LastAtUs).ToArray(),
        }, tx, cancellationToken: ct))).AsList();
        // A row whose payments are just what this batch added was inserted by it: the person's first payment at that merchant.
        var added = after.Where(r => r.Payments == sums[(r.User, r.Merchant)].Count).Select(r => (r.User, r.Merchant)).ToList();
        if (added.Count == 0) return;
        var payers = added.GroupBy(a => a.Merchant).OrderBy(g => g.Key).ToList();
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO reco_merchants (merchant_id, payers) SELECT * FROM unnest(@merchants::uuid[], @counts::bigint[])
            ON CONFLICT (merchant_id) DO UPDATE SET payers = reco_merchants.payers + excluded.payers
            """, new { merchants = payers.Select(g => g.Key).ToArray(), counts = payers.Select(g => (long)g.Count()).ToArray() }, tx, cancellationToken: ct));
        var people = added.Select(a => a.User).Distinct().ToArray();
        var merchantsOf = (await connection.QueryAsync<(Guid User, Guid Merchant)>(new CommandDefinition(
            "SELECT user_id, merchant_id FROM reco_user_merchants WHERE user_id = ANY(@people)", new { people }, tx, cancellationToken: ct)))
            .GroupBy(r => r.User).ToDictionary(g => g.Key, g => g.Select(r => r.Merchant).ToList());
        var newAt = added.ToHashSet();
        var pairs = new Dictionary<(Guid A, Guid B), long>();
        foreach (var user in people)
        {
            var all = merchantsOf.GetValueOrDefault(user) ?? [];
            foreach (var m in all)
                foreach (var o in all)
                    if (m != o && (newAt.Contains((user, m)) || newAt.Contains((user, o)))) pairs[(m, o)] = pairs.GetValueOrDefault((m, o)) + 1;
        }
        if (pairs.Count == 0) return;
        var pairKeys = pairs.Keys.OrderBy(k => k.A).ThenBy(k => k.B).ToList();
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO reco_pairs (merchant_a, merchant_b, people) SELECT * FROM unnest(@lefts::uuid[], @rights::uuid[], @counts::bigint[])
            ON CONFLICT (merchant_a, merchant_b) DO UPDATE SET people = reco_pairs.people + excluded.people
            """, new { lefts = pairKeys.Select(k => k.A).ToArray(), rights = pairKeys.Select(k => k.B).ToArray(), counts = pairKeys.Select(k => pairs[k]).ToArray() },
            tx, cancellationToken: ct));
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
