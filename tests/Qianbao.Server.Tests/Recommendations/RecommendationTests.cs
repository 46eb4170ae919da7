using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Modules.Recommendations;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Recommendations;

/// <summary>
/// GET /v1/recommendations over a scripted payment history fed to the durable trade.paid subscriber (delivered twice: it
/// counts once): the exact ranking of merchants by co-occurrence with popularity breaking ties, popular merchants for a
/// person without history, claimable campaigns ordered by where the person pays and what is recommended; and a real
/// payment reaching the rollup through the event runner. Both engines.
/// </summary>
public abstract class RecommendationTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private static StoredEvent Paid(Guid buyer, Guid merchant)
    {
        var paid = new TradePaid("T" + Guid.NewGuid().ToString("N"), "app", "o", merchant, buyer, 100, 0, "CNY");
        return new StoredEvent(new(0, 1), Guid.NewGuid(), "trade.paid", paid.Stream, EventTypes.Serialize(paid), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000);
    }

    private async Task<JsonObject> CampaignAsync(string name, params Guid[] merchantIds)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/campaigns")
        {
            Content = JsonContent.Create(new Dictionary<string, object?>
            {
                ["name"] = name, ["kind"] = "coupon", ["funding"] = new { source = "platform" }, ["budget"] = new { amount = 10_000, currency = "CNY" },
                ["starts_at"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("yyyy-MM-ddTHH:mm:ss.fffZ"),
                ["ends_at"] = DateTimeOffset.UtcNow.AddDays(30).ToString("yyyy-MM-ddTHH:mm:ss.fffZ"),
                ["merchant_ids"] = merchantIds.Length == 0 ? null : merchantIds.Select(m => m.ToString()).ToArray(),
                ["coupon"] = new { type = "fixed", amount = 500, stock = 10, valid_days = 7 },
            }),
        };
        request.Headers.Authorization = new("Bearer", GatewayServer.OperatorKey);
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        using var response = await server.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.Created, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    [Fact]
    public async Task People_who_pay_at_a_also_pay_at_b_ranks_exactly_and_campaigns_follow_where_you_pay()
    {
        var apps = new List<MerchantApp>();
        for (var i = 0; i < 6; i++) apps.Add(await server.CreateMerchantWithAppAsync(0));
        var (a, b, c, d, e, f) = (apps[0].MerchantId, apps[1].MerchantId, apps[2].MerchantId, apps[3].MerchantId, apps[4].MerchantId, apps[5].MerchantId);
        var names = server.Services.GetRequiredService<MerchantDirectory>();
        var aName = await names.NameAsync(a, CancellationToken.None);

        var target = await server.BuyerAsync(0);
        var newcomer = await server.BuyerAsync(0);
        var others = Enumerable.Range(0, 9).Select(_ => Guid.NewGuid()).ToList();
        // u1: A B C · u2: A B · u3: A C · u4: B D · u5..u9: E · target: A (twice).
        var history = new List<StoredEvent>
        {
            Paid(others[0], a), Paid(others[0], b), Paid(others[0], c), Paid(others[1], a), Paid(others[1], b), Paid(others[2], a), Paid(others[2], c),
            Paid(others[3], b), Paid(others[3], d), Paid(target.UserId, a), Paid(target.UserId, a),
        };
        for (var i = 4; i < 9; i++) history.Add(Paid(others[i], e));
        var rollup = server.Services.GetServices<IEventSubscriber>().Single(s => s.Name == RecommendationRollup.SubscriberName);
        rollup.Handles!.ShouldBe(["trade.paid"]);
        await rollup.HandleAsync(history, CancellationToken.None);
        await rollup.HandleAsync(history, CancellationToken.None); // redelivered: counted once

        // Target paid at A: B and C are each shared by 2 people (B has more payers: 3 against 2), then the popular rest.
        var mine = await target.GetJsonAsync("/v1/recommendations");
        var merchants = mine["merchants"]!.AsArray();
        merchants.Select(m => m!["merchant_id"]!.GetValue<Guid>()).ShouldBe([b, c, e, d]);
        merchants.Select(m => m!["score"]!.GetValue<long>()).ShouldBe([2L, 2L, 0L, 0L]);
        merchants[0]!["reason"]!.GetValue<string>().ShouldContain(aName!);
        merchants[2]!["reason"]!.GetValue<string>().ShouldNotContain(aName!);

        // No history: by popularity (E 5 payers, A 4, B 3, C 2, D 1).
        (await newcomer.GetJsonAsync("/v1/recommendations"))["merchants"]!.AsArray().Select(m => m!["merchant_id"]!.GetValue<Guid>()).ShouldBe([e, a, b, c, d]);

        // Campaigns: at a merchant you pay at, then at recommended ones in their rank, then valid everywhere, then the rest.
        var atF = await CampaignAsync("F 店券", f);
        var everywhere = await CampaignAsync("通用券");
        var atD = await CampaignAsync("D 店券", d);
        var atC = await CampaignAsync("C 店券", c);
        var atA = await CampaignAsync("A 店券", a);
        var campaigns = (await target.GetJsonAsync("/v1/recommendations"))["campaigns"]!.AsArray();
        campaigns.Select(x => x!["campaign_id"]!.GetValue<Guid>())
            .ShouldBe(new[] { atA, atC, atD, everywhere, atF }.Select(x => x["id"]!.GetValue<Guid>()));
        campaigns[0]!["reason"]!.GetValue<string>().ShouldContain(aName!);

        // A real payment reaches the rollup through the durable subscriber: the newcomer pays at D and B moves up for them
        // (u4 paid at B and D).
        var payer = await server.BuyerAsync(1_000);
        var precreated = await server.Caller(apps[3]).SendAsync("alipay.trade.precreate",
            server.Caller(apps[3]).Sign(server.Caller(apps[3]).Parameters("alipay.trade.precreate",
                new { out_trade_no = "R-" + Guid.NewGuid().ToString("N"), total_amount = "1.00", subject = "推荐" })));
        var qr = precreated.ShouldBe("10000")["qr_code"]!;
        (await payer.PostAsync("/v1/qr-payments", new { qr_code = qr })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Poll.UntilAsync(async () =>
                (await payer.GetJsonAsync("/v1/recommendations"))["merchants"]!.AsArray().FirstOrDefault()?["merchant_id"]?.GetValue<Guid>() == b,
            "the payment at D to recommend B");
    }
}

public sealed class SqliteRecommendationTests(SqliteGatewayServer server) : RecommendationTests<SqliteGatewayServer>(server);

public sealed class PostgresRecommendationTests(PostgresGatewayServer server) : RecommendationTests<PostgresGatewayServer>(server);
