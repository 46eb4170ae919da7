using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// Member cards through the official alipay-sdk (signatures verified): a programme with levels by 12-month spend (the
/// <c>qianbao_level_rule</c> extension), a card opened for a wallet user, its level rising with payments at the merchant and
/// falling with a refund, the level's points multiplier applied to later payments, and users listing and joining programmes.
/// </summary>
public abstract class MemberCardSdkTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private static object Programme(string requestId) => new
    {
        request_id = requestId, card_type = "OUT_MEMBER_CARD", template_style_info = new { card_show_name = "小钱咖啡会员卡" },
        card_level_conf = new object[]
        {
            new { level = "VIP1", level_show_name = "普通会员", level_desc = "欢迎" },
            new { level = "VIP2", level_show_name = "银卡", level_desc = "满100元", qianbao_level_rule = new { min_spend_12m = "100.00", points_multiplier_bps = 15000 } },
            new { level = "VIP3", level_show_name = "金卡", level_desc = "满500元", qianbao_level_rule = new { min_spend_12m = "500.00", points_multiplier_bps = 20000 } },
        },
    };

    private static JsonObject Ok(JsonObject answer)
    {
        answer["code"]!.GetValue<string>().ShouldBe("10000", answer.ToJsonString());
        return answer;
    }

    private static void Business(JsonObject answer, string subCode)
    {
        answer["code"]!.GetValue<string>().ShouldBe("40004", answer.ToJsonString());
        answer["subCode"]!.GetValue<string>().ShouldBe(subCode, answer.ToJsonString());
    }

    private async Task<(SdkDriver Sdk, MerchantApp App)> MerchantAsync()
    {
        var sdk = await server.SdkAsync();
        var app = await server.CreateMerchantWithAppAsync(0);
        await sdk.RegisterAsync(app.AppId, app.AppId, SdkKeys.PrivatePkcs1(SdkKeys.App), app.PlatformPublicKey);
        return (sdk, app);
    }

    private static async Task<string> PayAsync(SdkDriver sdk, MerchantApp app, WalletClient buyer, string yuan)
    {
        var outTradeNo = "M-" + Guid.NewGuid().ToString("N");
        var precreated = Ok(await sdk.ExecAsync(app.AppId, "alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = yuan, subject = "咖啡" }));
        var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = precreated["qrCode"]!.GetValue<string>() });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        return outTradeNo;
    }

    private static async Task<JsonObject> CardAsync(SdkDriver sdk, MerchantApp app, string cardNo) =>
        Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.card.query", new { target_card_no = cardNo, target_card_no_type = "BIZ_CARD" }))["cardInfo"]!.AsObject();

    /// <summary>Waits (bounded) until the card shows the spend (the spend subscriber runs after each payment) and points.</summary>
    private static Task CardEventuallyAsync(SdkDriver sdk, MerchantApp app, string cardNo, string spend, long points) =>
        Poll.UntilAsync(async () =>
        {
            var card = await CardAsync(sdk, app, cardNo);
            return Spend(card) == spend && card["point"]!.GetValue<string>() == points.ToString();
        }, $"card spend {spend} and {points} points");

    /// <summary>The extension field, whatever case the SDK's camel-casing gives a digit (qianbaoSpend12m or qianbaoSpend12M).</summary>
    private static string Spend(JsonObject card) =>
        card.Single(p => p.Key.Equals("qianbaoSpend12m", StringComparison.OrdinalIgnoreCase)).Value!.GetValue<string>();

    [Fact]
    public async Task A_card_levels_up_with_spend_at_the_merchant_and_its_multiplier_raises_later_points()
    {
        var (sdk, app) = await MerchantAsync();
        var buyer = await server.BuyerAsync(100_000);

        var templateId = Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.card.template.create", Programme("P-1")))["templateId"]!.GetValue<string>();
        Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.card.template.create", Programme("P-1")))["templateId"]!.GetValue<string>().ShouldBe(templateId);

        var open = new
        {
            card_template_id = templateId, out_serial_no = "open-1",
            card_user_info = new { user_uni_id = buyer.UserId.ToString(), user_uni_id_type = "UID" },
        };
        var opened = Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.card.open", open))["cardInfo"]!;
        var cardNo = opened["bizCardNo"]!.GetValue<string>();
        opened["level"]!.GetValue<string>().ShouldBe("VIP1");
        Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.card.open", open))["cardInfo"]!["bizCardNo"]!.GetValue<string>().ShouldBe(cardNo);

        // ¥60 + ¥60 = ¥120 ≥ ¥100: silver. Both were earned at ×1 (the level before each payment was VIP1).
        var first = await PayAsync(sdk, app, buyer, "60.00");
        await CardEventuallyAsync(sdk, app, cardNo, "60.00", 60);
        (await CardAsync(sdk, app, cardNo))["level"]!.GetValue<string>().ShouldBe("VIP1");
        await PayAsync(sdk, app, buyer, "60.00");
        await CardEventuallyAsync(sdk, app, cardNo, "120.00", 120);
        (await CardAsync(sdk, app, cardNo))["level"]!.GetValue<string>().ShouldBe("VIP2");

        // As silver, ¥10 earns 10 × 1.5 = 15 points.
        await PayAsync(sdk, app, buyer, "10.00");
        await CardEventuallyAsync(sdk, app, cardNo, "130.00", 135);

        // A refund of ¥60 takes the spend to ¥70: back to VIP1 (and the refund claws back its points in proportion).
        Ok(await sdk.ExecAsync(app.AppId, "alipay.trade.refund", new { out_trade_no = first, refund_amount = "60.00", out_request_no = "r-1" }));
        await CardEventuallyAsync(sdk, app, cardNo, "70.00", 75);
        (await CardAsync(sdk, app, cardNo))["level"]!.GetValue<string>().ShouldBe("VIP1");

        // Another merchant sees neither the programme nor the card.
        var (_, stranger) = await MerchantAsync();
        Business(await sdk.ExecAsync(stranger.AppId, "alipay.marketing.card.query", new { target_card_no = cardNo, target_card_no_type = "BIZ_CARD" }),
            "CARD_NOT_EXIST");
        Business(await sdk.ExecAsync(stranger.AppId, "alipay.marketing.card.open", open), "TEMPLATE_NOT_EXIST");
        await server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Bad_programmes_are_refused()
    {
        var (sdk, app) = await MerchantAsync();
        // A second level without its threshold, thresholds not rising, a first level with a threshold, another programme under a used request_id.
        var cases = new object[]
        {
            new { request_id = "B-1", card_type = "OUT_MEMBER_CARD", template_style_info = new { card_show_name = "卡" },
                card_level_conf = new object[] { new { level = "A", level_show_name = "A" }, new { level = "B", level_show_name = "B" } } },
            new { request_id = "B-2", card_type = "OUT_MEMBER_CARD", template_style_info = new { card_show_name = "卡" },
                card_level_conf = new object[] { new { level = "A", level_show_name = "A" },
                    new { level = "B", level_show_name = "B", qianbao_level_rule = new { min_spend_12m = "0.00" } } } },
            new { request_id = "B-3", card_type = "OUT_MEMBER_CARD", template_style_info = new { card_show_name = "卡" },
                card_level_conf = new object[] { new { level = "A", level_show_name = "A", qianbao_level_rule = new { min_spend_12m = "5.00" } } } },
            new { request_id = "B-4", card_type = "OUT_MEMBER_CARD", template_style_info = new { card_show_name = "卡" },
                card_level_conf = new object[] { new { level = "A", level_show_name = "A", qianbao_level_rule = new { points_multiplier_bps = 9999 } } } },
        };
        foreach (var bad in cases)
            (await sdk.ExecAsync(app.AppId, "alipay.marketing.card.template.create", bad))["code"]!.GetValue<string>().ShouldBeOneOf("40001", "40002");
        Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.card.template.create", Programme("B-5")));
        var renamed = (JsonObject)System.Text.Json.JsonSerializer.SerializeToNode(Programme("B-5"))!;
        renamed["template_style_info"]!["card_show_name"] = "另一张卡";
        Business(await sdk.ExecAsync(app.AppId, "alipay.marketing.card.template.create", renamed), "ACQ.CONTEXT_INCONSISTENT");
        Business(await sdk.ExecAsync(app.AppId, "alipay.marketing.card.open", new
        {
            card_template_id = Guid.NewGuid().ToString("N"), out_serial_no = "x", card_user_info = new { user_uni_id = Guid.NewGuid().ToString(), user_uni_id_type = "UID" },
        }), "TEMPLATE_NOT_EXIST");
    }

    [Fact]
    public async Task Users_list_and_join_programmes()
    {
        var (sdk, app) = await MerchantAsync();
        var templateId = Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.card.template.create", Programme("U-1")))["templateId"]!.GetValue<string>();
        var user = await server.BuyerAsync(50_000);
        await PayAsync(sdk, app, user, "150.00");

        var listed = (await user.GetJsonAsync("/v1/memberships"))["items"]!.AsArray().Single(i => i!["template_id"]!.GetValue<string>() == templateId)!;
        listed["joined"]!.GetValue<bool>().ShouldBeFalse();
        listed["name"]!.GetValue<string>().ShouldBe("小钱咖啡会员卡");
        listed["levels"]!.AsArray().Select(l => l!["min_spend_12m"]!.GetValue<long>()).ShouldBe([0L, 10_000L, 50_000L]);

        // Joining after spending ¥150 there: silver at once (the spend is kept for everyone from the trade events).
        await Poll.UntilAsync(async () =>
        {
            var r = await user.PostAsync("/v1/memberships", new { template_id = templateId });
            var body = (await r.Content.ReadFromJsonAsync<JsonObject>())!;
            r.StatusCode.ShouldBeOneOf(HttpStatusCode.Created, HttpStatusCode.OK);
            return body["card"]!["spend_12m"]!.GetValue<long>() == 15_000 && body["card"]!["level"]!.GetValue<string>() == "VIP2";
        }, "joined at VIP2");
        var again = await user.PostAsync("/v1/memberships", new { template_id = templateId });
        again.StatusCode.ShouldBe(HttpStatusCode.OK);
        var card = (await user.GetJsonAsync("/v1/memberships"))["items"]!.AsArray().Single(i => i!["template_id"]!.GetValue<string>() == templateId)!;
        card["joined"]!.GetValue<bool>().ShouldBeTrue();
        var cardNo = card["card"]!["biz_card_no"]!.GetValue<string>();
        (await CardAsync(sdk, app, cardNo))["level"]!.GetValue<string>().ShouldBe("VIP2");

        await (await user.PostAsync("/v1/memberships", new { template_id = "nope" })).ShouldBeProblemAsync(400, "invalid_template_id");
        await (await user.PostAsync("/v1/memberships", new { template_id = Guid.NewGuid() })).ShouldBeProblemAsync(404, "not_found");
        await server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteMemberCardSdkTests(SqliteGatewayServer server) : MemberCardSdkTests<SqliteGatewayServer>(server);

public sealed class PostgresMemberCardSdkTests(PostgresGatewayServer server) : MemberCardSdkTests<PostgresGatewayServer>(server);
