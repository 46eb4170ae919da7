using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Modules.Notifications.Campaigns;
using Qianbao.Server.Modules.Recommendations;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Gateway.Sdk;

namespace Qianbao.Server.Tests.Recommendations;

/// <summary>
/// Personalised messaging campaigns: a variant's texts use the recipient's masked name, points balance, soonest-expiring
/// coupon and top recommendation, each asked of its module and rendered per recipient; a text without personal
/// variables is rendered once (and stays on the set-based send on PostgreSQL); unknown variables and broken Liquid are
/// refused on create with stable codes and nothing is created. Both engines.
/// </summary>
public abstract class CampaignPersonalisationTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private static readonly NotificationPreferences Consented = new(1, 1, 1, new QuietHours(false, 0, 0), NotificationPreferences.DefaultTimeZone);

    private static StoredEvent Paid(Guid buyer, Guid merchant)
    {
        var paid = new TradePaid("T" + Guid.NewGuid().ToString("N"), "app", "o", merchant, buyer, 100, 0, "CNY");
        return new StoredEvent(new(0, 1), Guid.NewGuid(), "trade.paid", paid.Stream, EventTypes.Serialize(paid), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000);
    }

    private static object Campaign(Guid followed, string title, string body, string? subject = null) => new
    {
        name = "Personal offer",
        segment = new { follows_merchant_id = followed },
        channels = new[] { "in_app" },
        variants = new object[] { new { key = "a", weight = 1, title, body, email_subject = subject } },
        holdout_bps = 0,
        conversion = new { @event = "payment", window_hours = 72 },
    };

    private async Task<HttpResponseMessage> CreateAsync(object body) =>
        await server.OperatorSendAsync(HttpMethod.Post, "/admin/v1/messaging/campaigns", body, Guid.NewGuid().ToString("N"));

    private async Task<Guid> CreateAndSendAsync(object body)
    {
        var created = await CreateAsync(body);
        var text = await created.Content.ReadAsStringAsync();
        created.StatusCode.ShouldBe(HttpStatusCode.Created, text);
        var id = JsonNode.Parse(text)!["id"]!.GetValue<Guid>();
        var started = await server.OperatorSendAsync(HttpMethod.Post, $"/admin/v1/messaging/campaigns/{id}/start", null, Guid.NewGuid().ToString("N"));
        started.StatusCode.ShouldBe(HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
        await server.Services.GetRequiredService<CampaignSender>().SendDueAsync(CancellationToken.None);
        return id;
    }

    private static async Task<string> CodeAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["code"]!.GetValue<string>();

    [Fact]
    public async Task A_variant_uses_the_persons_name_points_soonest_coupon_and_top_recommendation()
    {
        var a = await server.CreateMerchantAsync(0, name: "Corner Shop");
        var b = await server.CreateMerchantAsync(0, name: "Noodle Bar");
        var followed = await server.CreateMerchantAsync(0, name: "Followed Shop");
        var names = server.Services.GetRequiredService<MerchantDirectory>();
        var (aName, bName) = (await names.NameAsync(a, CancellationToken.None), await names.NameAsync(b, CancellationToken.None));

        var target = await server.BuyerAsync(0, "王小明");
        var plain = await server.BuyerAsync(0, "Plain Person");
        // Others pay at A and B; the target at A: B is their top recommendation, because of A.
        var others = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToList();
        var history = others.SelectMany(o => new[] { Paid(o, a), Paid(o, b) }).Append(Paid(target.UserId, a)).ToList();
        await server.Services.GetServices<IEventSubscriber>().Single(s => s.Name == RecommendationRollup.SubscriberName).HandleAsync(history, CancellationToken.None);

        // Two coupons: the one that expires sooner is named.
        foreach (var (name, days) in new[] { ("Later 券", 20), ("Soon 券", 3) })
        {
            var campaign = await server.OperatorSendAsync(HttpMethod.Post, "/admin/v1/campaigns", new Dictionary<string, object?>
            {
                ["name"] = name, ["kind"] = "coupon", ["funding"] = new { source = "platform" }, ["budget"] = new { amount = 10_000, currency = "CNY" },
                ["starts_at"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                ["ends_at"] = DateTimeOffset.UtcNow.AddDays(30).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                ["coupon"] = new { type = "fixed", amount = 500, stock = 10, valid_days = days },
            }, Guid.NewGuid().ToString());
            var campaignText = await campaign.Content.ReadAsStringAsync();
            campaign.StatusCode.ShouldBe(HttpStatusCode.Created, campaignText);
            var claimed = await target.PostAsync("/v1/coupons", new { campaign_id = JsonNode.Parse(campaignText)!["id"]!.GetValue<Guid>() }, Guid.NewGuid().ToString());
            claimed.StatusCode.ShouldBeOneOf([HttpStatusCode.OK, HttpStatusCode.Created], await claimed.Content.ReadAsStringAsync());
        }
        var soon = (await target.GetJsonAsync("/v1/coupons"))["items"]!.AsArray()
            .Select(c => c!["expires_at"]!.GetValue<DateTimeOffset>()).Min().ToOffset(TimeSpan.FromHours(8));

        await using (var connection = await server.Db.OpenAsync())
        await using (var tx = await server.Db.BeginWriteAsync(connection, CancellationToken.None))
        {
            foreach (var who in new[] { target, plain }) await NotificationSettings.WriteAsync(connection, tx, who.UserId, Consented, "en", 0, CancellationToken.None);
            await tx.CommitAsync();
        }
        foreach (var who in new[] { target, plain })
            (await who.PostAsync($"/v1/merchants/{followed}/follow", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var masked = (await server.Services.GetRequiredService<UserDirectory>().MaskedNamesAsync([target.UserId, plain.UserId], CancellationToken.None));
        masked[target.UserId].ShouldNotContain("小明");
        var points = (await target.GetJsonAsync("/v1/points"))["balance"]!.GetValue<long>();

        await CreateAndSendAsync(Campaign(followed, "{{ name }}: {{ points }} points",
            "{% if coupon_name %}{{ coupon_name }} {{ coupon_amount }} until {{ coupon_expires }}{% else %}no coupon{% endif %}. Try {{ recommended_merchant }}: {{ recommendation_reason }}"));

        var item = (await target.GetJsonAsync("/v1/notifications"))["items"]!.AsArray().Single()!;
        item["title"]!.GetValue<string>().ShouldBe($"{masked[target.UserId]}: {points} points");
        item["body"]!.GetValue<string>().ShouldBe(
            $"Soon 券 ¥5.00 until {soon:yyyy-MM-dd HH:mm}. Try {bName}: People who pay at {aName} also pay here");
        // The other person: no coupon, no history (a popular merchant instead), their own name.
        var other = (await plain.GetJsonAsync("/v1/notifications"))["items"]!.AsArray().Single()!;
        other["title"]!.GetValue<string>().ShouldBe($"{masked[plain.UserId]}: 0 points");
        other["body"]!.GetValue<string>().ShouldEndWith(": Popular with Qianbao users");
        other["body"]!.GetValue<string>().ShouldStartWith("no coupon. Try ");

        // A text without personal variables is rendered once, the same for everyone (on PostgreSQL by the set-based send).
        await CreateAndSendAsync(Campaign(followed, "Weekend", "{% if true %}Everyone{% endif %} saves"));
        foreach (var who in new[] { target, plain })
            (await who.GetJsonAsync("/v1/notifications"))["items"]!.AsArray()[0]!["body"]!.GetValue<string>().ShouldBe("Everyone saves");
    }

    [Fact]
    public async Task Unknown_variables_and_broken_liquid_are_refused_on_create_and_nothing_is_created()
    {
        var followed = Guid.NewGuid();
        await using var connection = await server.Db.OpenAsync();
        var before = await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, "SELECT COUNT(*) FROM messaging_campaigns");

        var unknown = await CreateAsync(Campaign(followed, "Hi {{ name }}", "Your phone {{ phone }}"));
        unknown.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await CodeAsync(unknown)).ShouldBe("unknown_template_variable");
        var inSubject = await CreateAsync(Campaign(followed, "Hi", "Body", subject: "{{ id_number }}"));
        (await CodeAsync(inSubject)).ShouldBe("unknown_template_variable");
        var broken = await CreateAsync(Campaign(followed, "Hi {{ name", "Body"));
        broken.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await CodeAsync(broken)).ShouldBe("invalid_template");

        (await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, "SELECT COUNT(*) FROM messaging_campaigns")).ShouldBe(before);
        (await CreateAsync(Campaign(followed, "Hi {{ name }}", "{{ points }} points"))).StatusCode.ShouldBe(HttpStatusCode.Created);
    }
}

public sealed class SqliteCampaignPersonalisationTests(SqliteGatewayServer server) : CampaignPersonalisationTests<SqliteGatewayServer>(server);

public sealed class PostgresCampaignPersonalisationTests(PostgresGatewayServer server) : CampaignPersonalisationTests<PostgresGatewayServer>(server);
