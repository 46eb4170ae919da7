using System.Globalization;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Analytics;
using Qianbao.Server.Money.Events;
using static Qianbao.Server.Tests.Analytics.AnalyticsServer;

namespace Qianbao.Server.Tests.Analytics;

/// <summary>
/// The rollups are summed per row within a batch (issue 13): random changes with many repeated keys, written once as one batch
/// and once one change per batch, must leave the same rows. The two runs use disjoint ids (every merchant, payer, user and
/// campaign of the first has its twin in the second), so each table's rows of one run are compared with the other's under
/// that mapping; the platform days, shared by both, by what each run added. March 2033: no other test writes there.
/// </summary>
public abstract class BatchedRollupTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : AnalyticsServer
{
    protected TServer Server { get; } = server;

    private static readonly string[] Tables =
    [
        "analytics_merchant_hours", "analytics_merchant_payers", "analytics_payer_days", "analytics_campaign_hours",
        "analytics_active_days", "analytics_users", "analytics_verified_users", "analytics_cashback_days",
    ];

    [Fact]
    public async Task One_batch_adds_up_to_the_same_rows_as_one_change_per_batch()
    {
        var random = new Random(20331);
        var ids = Enumerable.Range(0, 16).Select(_ => Guid.NewGuid()).ToArray();
        Guid[] merchants = ids[..3], payers = ids[3..8], users = ids[8..13], campaigns = ids[13..16];
        var twin = ids.ToDictionary(id => id, _ => Guid.NewGuid());
        var changes = Enumerable.Range(0, 300).Select(_ => RandomChange(random, merchants, payers, users, campaigns)).ToList();
        var store = Server.Services.GetRequiredService<AnalyticsStore>();

        var before = await PlatformDaysAsync();
        foreach (var change in changes) await store.ApplyAsync([(Guid.NewGuid(), change)], EventBatch.Unchecked([]), CancellationToken.None);
        var afterOneByOne = await PlatformDaysAsync();
        var batch = changes.Select(c => (Guid.NewGuid(), Twin(c, twin))).ToList();
        await store.ApplyAsync(batch, EventBatch.Unchecked([]), CancellationToken.None);
        var afterBatch = await PlatformDaysAsync();
        // The same batch delivered again adds nothing: its events were seen.
        await store.ApplyAsync(batch, EventBatch.Unchecked([]), CancellationToken.None);

        Difference(afterBatch, afterOneByOne).ShouldBe(Difference(afterOneByOne, before));
        Difference(afterBatch, afterOneByOne).Sum(v => v.Count).ShouldBe(changes.Count(c => c is not VerifiedCounted));
        Difference(await PlatformDaysAsync(), afterBatch).ShouldAllBe(d => d.Count == 0 && d.Volume == 0);
        foreach (var table in Tables)
        {
            var rows = await RowsAsync(table);
            var twins = twin.Values.ToHashSet();
            var oneByOne = rows.Where(r => r.Any(v => v is Guid g && twin.ContainsKey(g)))
                .Select(r => string.Join('|', r.Select(v => v is Guid g ? twin[g] : v))).Order().ToList();
            var batched = rows.Where(r => r.Any(v => v is Guid g && twins.Contains(g))).Select(r => string.Join('|', r)).Order().ToList();
            oneByOne.ShouldNotBeEmpty(table);
            batched.ShouldBe(oneByOne, table);
        }
    }

    private static AnalyticsChange RandomChange(Random random, Guid[] merchants, Guid[] payers, Guid[] users, Guid[] campaigns)
    {
        T Any<T>(T[] from) => from[random.Next(from.Length)];
        // Two days, three hours each: keys repeat often within the batch.
        var atUs = ChinaUs(2033, 3, 10 + random.Next(2), 9 + random.Next(3), random.Next(60));
        var amount = random.Next(1, 100_000);
        return random.Next(8) switch
        {
            0 or 1 or 2 => new PaymentCounted(atUs, Any(merchants), Any(payers), amount, random.Next(2) * random.Next(1, 500),
                new Buckets((short)random.Next(3), (short)random.Next(7), (short)random.Next(11, 14)),
                [.. campaigns.Where(_ => random.Next(3) == 0).Select(c => (c, (long)random.Next(1, 300)))]),
            3 => new RefundCounted(atUs, Any(merchants), amount),
            4 => new UserCounted(atUs, Any(users)),
            5 => new VerifiedCounted(atUs, Any(users)),
            6 => new PlatformCounted(atUs, PlatformKind.Transfer, amount, random.Next(2) == 0 ? Any(payers) : null),
            _ => new CashbackCounted(atUs, Any(campaigns), amount),
        };
    }

    /// <summary>The change with every id replaced by its twin.</summary>
    private static AnalyticsChange Twin(AnalyticsChange change, Dictionary<Guid, Guid> twin) => change switch
    {
        PaymentCounted p => p with
        {
            MerchantId = twin[p.MerchantId], PayerId = twin[p.PayerId], Campaigns = [.. p.Campaigns.Select(c => (twin[c.CampaignId], c.DiscountMinor))],
        },
        RefundCounted r => r with { MerchantId = twin[r.MerchantId] },
        UserCounted u => u with { UserId = twin[u.UserId] },
        VerifiedCounted v => v with { UserId = twin[v.UserId] },
        PlatformCounted { ActiveUserId: { } user } k => k with { ActiveUserId = twin[user] },
        PlatformCounted k => k,
        CashbackCounted b => b with { CampaignId = twin[b.CampaignId] },
        _ => throw new ArgumentOutOfRangeException(nameof(change)),
    };

    /// <summary>Every row of the table, each value as text (ids as <see cref="Guid"/>s, so both engines compare alike).</summary>
    private async Task<List<object[]>> RowsAsync(string table)
    {
        await using var connection = await Server.Db.OpenAsync();
        return [.. (await connection.QueryAsync($"SELECT * FROM {table}")).Cast<IDictionary<string, object>>()
            .Select(row => row.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => Value(c.Value)).ToArray())];
    }

    private static object Value(object value) => value switch
    {
        Guid g => g,
        string s when Guid.TryParse(s, out var g) => g,
        IConvertible n => Convert.ToString(n, CultureInfo.InvariantCulture)!,
        _ => value.ToString()!,
    };

    private async Task<Dictionary<(long Day, string Kind), (long Count, long Volume)>> PlatformDaysAsync()
    {
        await using var connection = await Server.Db.OpenAsync();
        var rows = await connection.QueryAsync<(long Day, string Kind, long Count, long Volume)>(
            "SELECT CAST(day AS bigint), kind, count, volume_minor FROM analytics_platform_days WHERE day >= @from AND day < @to",
            new { from = ChinaCalendar.DayOf(ChinaUs(2033, 3, 1, 0, 0)), to = ChinaCalendar.DayOf(ChinaUs(2033, 4, 1, 0, 0)) });
        return rows.ToDictionary(r => (r.Day, r.Kind), r => (r.Count, r.Volume));
    }

    /// <summary>What was added to each day and kind, in order of day and kind.</summary>
    private static List<(long Day, string Kind, long Count, long Volume)> Difference(
        Dictionary<(long Day, string Kind), (long Count, long Volume)> after, Dictionary<(long Day, string Kind), (long Count, long Volume)> before) =>
        [.. after.Select(a => (a.Key.Day, a.Key.Kind, a.Value.Count - before.GetValueOrDefault(a.Key).Count, a.Value.Volume - before.GetValueOrDefault(a.Key).Volume))
            .Order()];
}

public sealed class SqliteBatchedRollupTests(SqliteAnalyticsServer server) : BatchedRollupTests<SqliteAnalyticsServer>(server);

public sealed class PostgresBatchedRollupTests(PostgresAnalyticsServer server) : BatchedRollupTests<PostgresAnalyticsServer>(server);
