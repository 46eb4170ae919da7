using System.Text.Json.Nodes;
using Qianbao.Server.Money.Events;
using static Qianbao.Server.Tests.Analytics.AnalyticsServer;

namespace Qianbao.Server.Tests.Analytics;

/// <summary>Operator KPIs from hand-built events in January 2031 (no other test writes there), hand-computed; on each engine.</summary>
public abstract class OperatorKpisTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : AnalyticsServer
{
    protected TServer Server { get; } = server;

    private static TradePaid Paid(Guid merchant, Guid buyer, long amount, long atUs) =>
        At(new TradePaid("T" + Guid.NewGuid().ToString("N"), "app", "o", merchant, buyer, amount, 0, "CNY"), atUs);

    [Fact]
    public async Task Kpis_match_the_hand_computed_ones()
    {
        Guid u0 = Guid.NewGuid(), u1 = Guid.NewGuid(), u2 = Guid.NewGuid(), u3 = Guid.NewGuid(), u4 = Guid.NewGuid();
        Guid a = Guid.NewGuid(), b = Guid.NewGuid(), campaign = Guid.NewGuid(), packet = Guid.NewGuid();
        // Verified users from identity.verified: u1 and u3 in the range (u3's event delivered twice), u2 the day after it.
        var u3Verified = At(new IdentityVerified(u3), ChinaUs(2031, 1, 8, 23, 59));
        await Server.DeliverAsync(
            At(new IdentityVerified(u1), ChinaUs(2031, 1, 6, 0, 0)), u3Verified, At(new IdentityVerified(u2), ChinaUs(2031, 1, 20, 0, 0)));
        await Server.DeliverAsync(u3Verified);
        await Server.DeliverAsync(
            // Before the range: u0 and u1 active in the churn base (2030-11-21 … 2030-12-20); only u1 comes back.
            Paid(a, u0, 100, ChinaUs(2030, 12, 1, 10, 0)),
            Paid(b, u1, 100, ChinaUs(2030, 12, 5, 10, 0)),
            // Week of Monday 6 January 2031: u1, u2, u3 register; u1 pays A, u2 sends u3 a transfer, u3 tops up.
            At(new UserRegistered(u1, "138****0001"), ChinaUs(2031, 1, 6, 10, 0)),
            At(new UserRegistered(u2, "138****0002"), ChinaUs(2031, 1, 6, 10, 0)),
            At(new UserRegistered(u3, "138****0003"), ChinaUs(2031, 1, 6, 10, 0)),
            Paid(a, u1, 1000, ChinaUs(2031, 1, 6, 11, 0)),
            At(new TransferCompleted(Guid.NewGuid(), u2, u3, 500, "CNY"), ChinaUs(2031, 1, 6, 12, 0)),
            At(new TopUpSucceeded(Guid.NewGuid(), u3, 2000, "CNY", "sandbox"), ChinaUs(2031, 1, 7, 9, 0)),
            At(new MerchantVerified(a), ChinaUs(2031, 1, 8, 9, 0)),
            At(new WithdrawalSucceeded(Guid.NewGuid(), a, 800, "CNY", "sandbox"), ChinaUs(2031, 1, 9, 9, 0)),
            At(new CashbackPosted(Guid.NewGuid(), u1, "T1", campaign, 150, "CNY"), ChinaUs(2031, 1, 10, 9, 0)),
            // Week of 13 January: u4 registers; u1 pays B, u4 pays A; A refunds 200; u2 sends a red packet, u4 claims half.
            At(new UserRegistered(u4, "138****0004"), ChinaUs(2031, 1, 14, 10, 0)),
            Paid(b, u1, 3000, ChinaUs(2031, 1, 14, 9, 0)),
            Paid(a, u4, 400, ChinaUs(2031, 1, 14, 10, 30)),
            At(new TradeRefunded("T2", "app", "R", a, u4, 200, 200, "CNY"), ChinaUs(2031, 1, 15, 8, 0)),
            At(new RedPacketCreated(packet, u2, 600, "CNY", 2, "fixed"), ChinaUs(2031, 1, 16, 8, 0)),
            At(new RedPacketClaimed(packet, u2, u4, 1, 300, "CNY"), ChinaUs(2031, 1, 16, 9, 0)));

        var k = await Server.GetOkAsync("/admin/v1/analytics/kpis?from=2031-01-06&to=2031-01-19");
        k["registrations"]!.GetValue<long>().ShouldBe(4);
        k["verified_users"]!.GetValue<long>().ShouldBe(2);
        (await Server.GetOkAsync("/admin/v1/analytics/kpis?from=2031-01-20&to=2031-01-20"))["verified_users"]!.GetValue<long>().ShouldBe(1);
        (await Server.GetOkAsync("/admin/v1/analytics/kpis?from=2031-01-07&to=2031-01-07"))["verified_users"]!.GetValue<long>().ShouldBe(0);
        // Nobody was sent a notification in 2031: the messaging section is there and empty.
        k["messaging"]!.AsArray().ShouldBeEmpty();
        // Active user-days: 6th u1 u2, 7th u3, 14th u1 u4, 16th u2 u4 = 7 over 14 days.
        k["dau"]!.GetValue<decimal>().ShouldBe(0.5m);
        k["mau"]!.GetValue<long>().ShouldBe(4);
        var types = k["transactions"]!.AsArray().ToDictionary(t => t!["type"]!.GetValue<string>(), t => (t!["count"]!.GetValue<long>(), t["volume"]!.GetValue<long>()));
        types["payment"].ShouldBe((3L, 4400L));
        types["refund"].ShouldBe((1L, 200L));
        types["transfer"].ShouldBe((1L, 500L));
        types["top_up"].ShouldBe((1L, 2000L));
        types["withdrawal"].ShouldBe((1L, 800L));
        types["red_packet"].ShouldBe((1L, 600L));
        types["red_packet_claim"].ShouldBe((1L, 300L));
        types["cashback"].ShouldBe((1L, 150L));
        k["gmv"]!.GetValue<long>().ShouldBe(4400);
        var retention = k["retention"]!.AsArray();
        retention.Count.ShouldBe(2);
        retention[0]!["week_start"]!.GetValue<string>().ShouldBe("2031-01-06");
        retention[0]!["users"]!.GetValue<long>().ShouldBe(3);
        retention[0]!["active"]!.AsArray().Select(n => n!.GetValue<long>()).ShouldBe([3L, 2L]);
        retention[1]!["week_start"]!.GetValue<string>().ShouldBe("2031-01-13");
        retention[1]!["active"]!.AsArray().Select(n => n!.GetValue<long>()).ShouldBe([1L]);
        k["churn_30d"]!["base_users"]!.GetValue<long>().ShouldBe(2);
        k["churn_30d"]!["churned"]!.GetValue<long>().ShouldBe(1);
        k["churn_30d"]!["rate"]!.GetValue<decimal>().ShouldBe(0.5m);
        k["new_merchants"]!.GetValue<long>().ShouldBe(1);
        k["active_merchants"]!.GetValue<long>().ShouldBe(2);
        k["top_merchants"]!.AsArray().Select(t => (t!["merchant_id"]!.GetValue<Guid>(), t["gmv"]!.GetValue<long>(), t["orders"]!.GetValue<long>()))
            .ShouldBe([(b, 3000L, 1L), (a, 1400L, 2L)]);
        var campaigns = k["campaigns"]!.AsArray();
        campaigns.Count.ShouldBe(1);
        campaigns[0]!["campaign_id"]!.GetValue<Guid>().ShouldBe(campaign);
        campaigns[0]!["spend"]!.GetValue<long>().ShouldBe(150);
        campaigns[0]!["roi"]!.GetValue<decimal>().ShouldBe(0m);
    }
}

public sealed class SqliteOperatorKpisTests(SqliteAnalyticsServer server) : OperatorKpisTests<SqliteAnalyticsServer>(server);

public sealed class PostgresOperatorKpisTests(PostgresAnalyticsServer server) : OperatorKpisTests<PostgresAnalyticsServer>(server);
