using Dapper;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Tests.Gateway.Sdk;

namespace Qianbao.Server.Tests.Modules.Marketing;

/// <summary>
/// A payment's candidate coupons on PostgreSQL come from a skip scan (one index probe per group of alike coupons, migration 0045);
/// it must find the same coupons as numbering every available one per group: random coupons of several campaigns and terms,
/// used, expired and of another currency among them.
/// </summary>
public sealed class UsableCouponQueryTests(PostgresClockedGatewayServer server) : IClassFixture<PostgresClockedGatewayServer>
{
    [Fact]
    public async Task The_skip_scan_finds_the_first_coupon_of_each_group_as_numbering_them_does()
    {
        var random = new Random(45);
        var now = 1_000_000_000_000L;
        await using var connection = await server.Db.OpenAsync();
        var campaigns = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var campaign in campaigns)
        {
            await connection.ExecuteAsync("""
                INSERT INTO campaigns (id, name, kind, funding_source, currency, budget_amount, budget_account_id, starts_at_us, ends_at_us,
                    merchant_ids, terms, state, created_at_us)
                VALUES (@campaign, 'skip scan', 0, 0, 'CNY', 1000, @account, 0, @ends, '', '{}', 0, 0)
                """, new { campaign, account = Guid.NewGuid(), ends = now * 2 });
        }
        for (var user = 0; user < 20; user++)
        {
            var userId = Guid.NewGuid();
            var coupons = Enumerable.Range(0, random.Next(0, 60)).Select(_ => new
            {
                id = Guid.CreateVersion7(), campaign_id = campaigns[random.Next(campaigns.Length)], user_id = userId,
                status = random.Next(5) == 0 ? 1 : 0, type = random.Next(2), amount = 100L * random.Next(1, 3), percent_bps = 500 * random.Next(0, 2),
                cap = 0L, min_spend = 1000L * random.Next(0, 2), currency = random.Next(8) == 0 ? "USD" : "CNY",
                expires_at_us = now + random.Next(-3, 10) * 1_000_000L, claimed_at_us = 0L,
            }).ToList();
            await connection.ExecuteAsync("""
                INSERT INTO coupons (id, campaign_id, user_id, status, type, amount, percent_bps, cap, min_spend, currency, expires_at_us, claimed_at_us)
                VALUES (@id, @campaign_id, @user_id, @status, @type, @amount, @percent_bps, @cap, @min_spend, @currency, @expires_at_us, @claimed_at_us)
                """, coupons);
            var parameters = new { userId, now, currency = "CNY", only = (Guid?)null };
            var numbered = (await connection.QueryAsync<Guid>(Coupons.FirstOfEachGroupByRowNumber(onlyOne: false), parameters)).Order().ToList();
            var skipped = (await connection.QueryAsync<Guid>(Coupons.FirstOfEachGroupBySkipScan, parameters)).Order().ToList();
            skipped.ShouldBe(numbered, $"user {user} with {coupons.Count} coupons");
            // Not vacuous: a payer with many coupons has several groups, each its first unexpired coupon in yuan.
            if (coupons.Count >= 40) numbered.Count.ShouldBeGreaterThan(3);
            var expected = coupons.Where(c => c.status == 0 && c.expires_at_us > now && c.currency == "CNY")
                .GroupBy(c => (c.campaign_id, c.type, c.amount, c.percent_bps, c.cap, c.min_spend))
                .Select(g => g.OrderBy(c => c.expires_at_us).ThenBy(c => c.id.ToString()).First().id).Order().ToList();
            numbered.ShouldBe(expected);
        }
    }
}
