using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Merchants;

/// <summary>
/// The native merchant API for vouchers and members: templates made and stopped through Marketing's merchant voucher path
/// (funded from and returned to the settlement balance in the ledger), the member programme and members from Memberships.
/// </summary>
public abstract class MerchantVoucherApiTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private GatewayServer Server { get; } = server;
    private HttpClient Http => Server.Http;

    private async Task PayAsync(MerchantApp app, long fen, WalletClient payer)
    {
        var answer = (await Server.Caller(app).CallAsync("alipay.trade.precreate", new
        {
            out_trade_no = "MV-" + Guid.NewGuid().ToString("N"), total_amount = (fen / 100m).ToString("0.00", CultureInfo.InvariantCulture), subject = "券",
        })).ShouldBe("10000");
        var paid = await payer.PostAsync("/v1/qr-payments", new { qr_code = answer["qr_code"] });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
    }

    private async Task<JsonObject> GetAsync(string token, string path)
    {
        var response = await MerchantAccounts.SendAsync(Http, HttpMethod.Get, path, token);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static object Voucher(long amount, int quantity, string name = "开业立减") => new
    {
        name, amount, quantity, publish_end = DateTimeOffset.UtcNow.AddDays(7), valid_days = 7, description = "满额可用",
    };

    private Task<HttpResponseMessage> CreateAsync(string token, object body, string? key) =>
        MerchantAccounts.SendAsync(Http, HttpMethod.Post, "/merchant/v1/vouchers", token, body, key);

    [Fact]
    public async Task A_voucher_is_funded_from_the_balance_claimed_and_stopped_with_its_remainder_returned()
    {
        var (app, admin, adminToken) = await Server.ShopAsync();
        var (_, _, strangerToken) = await Server.ShopAsync();
        var analystToken = await MerchantAccounts.LoginAsync(Http, await MerchantAccounts.AddStaffAsync(Http, adminToken, admin.MerchantId, "analyst"));
        var buyer = await Server.BuyerAsync(100_000);
        await PayAsync(app, 50_000, buyer);
        var (before, _) = await Server.SettlementAsync(admin.MerchantId);
        before.ShouldBeGreaterThan(10_000);

        await (await CreateAsync(analystToken, Voucher(500, 10), "k-analyst")).ShouldBeProblemAsync(403, "forbidden");
        await (await CreateAsync(adminToken, Voucher(500, 10), null)).ShouldBeProblemAsync(400, "idempotency_key_missing");
        await (await CreateAsync(adminToken, Voucher(0, 10), "k-0")).ShouldBeProblemAsync(400, "invalid_discount_amount");
        await (await CreateAsync(adminToken, Voucher(500, 0), "k-1")).ShouldBeProblemAsync(400, "invalid_stock");
        await (await CreateAsync(adminToken, Voucher(500, 10, name: "一个非常非常非常长的券名称啊"), "k-2")).ShouldBeProblemAsync(400, "invalid_campaign_name");
        await (await CreateAsync(adminToken, new { name = "券", amount = 500, quantity = 10, valid_days = 7 }, "k-3"))
            .ShouldBeProblemAsync(400, "invalid_campaign_window");
        await (await CreateAsync(adminToken, new { name = "券", amount = 500, floor_amount = 500, quantity = 10, publish_end = DateTimeOffset.UtcNow.AddDays(1),
            valid_days = 1 }, "k-4")).ShouldBeProblemAsync(400, "invalid_min_spend");
        await (await CreateAsync(adminToken, Voucher(before, 2), "k-5")).ShouldBeProblemAsync(422, "merchant_balance_insufficient");
        (await Server.SettlementAsync(admin.MerchantId)).Available.ShouldBe(before, "nothing moved on a refusal");
        (await GetAsync(adminToken, "/merchant/v1/vouchers"))["items"]!.AsArray().ShouldBeEmpty();

        var key = "voucher-" + Guid.NewGuid();
        var created = await CreateAsync(adminToken, Voucher(500, 10), key);
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var voucher = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = voucher["id"]!.GetValue<string>();
        voucher["status"]!.GetValue<string>().ShouldBe("active");
        voucher["source"]!.GetValue<string>().ShouldBe("voucher");
        voucher["budget"]!["left"]!.GetValue<long>().ShouldBe(5_000);
        (await Server.SettlementAsync(admin.MerchantId)).Available.ShouldBe(before - 5_000);
        var again = await CreateAsync(adminToken, Voucher(500, 10), key);
        again.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await again.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>().ShouldBe(id);
        await (await CreateAsync(adminToken, Voucher(500, 11), key)).ShouldBeProblemAsync(422, "idempotency_key_reused");
        (await Server.SettlementAsync(admin.MerchantId)).Available.ShouldBe(before - 5_000, "a replay moves nothing");

        var claim = await buyer.PostAsync("/v1/coupons", new { campaign_id = id }, idempotencyKey: "claim-" + Guid.NewGuid());
        claim.StatusCode.ShouldBe(HttpStatusCode.Created, await claim.Content.ReadAsStringAsync());
        var listed = (await GetAsync(analystToken, "/merchant/v1/vouchers"))["items"]!.AsArray().Single()!;
        listed["claimed"]!.GetValue<int>().ShouldBe(1);
        listed["stock"]!.GetValue<int>().ShouldBe(10);
        listed["amount"]!.GetValue<long>().ShouldBe(500);
        (await GetAsync(strangerToken, "/merchant/v1/vouchers"))["items"]!.AsArray().ShouldBeEmpty();

        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, $"/merchant/v1/vouchers/{id}/stop", analystToken)).ShouldBeProblemAsync(403, "forbidden");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, $"/merchant/v1/vouchers/{id}/stop", strangerToken)).ShouldBeProblemAsync(404, "not_found");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, "/merchant/v1/vouchers/nope/stop", adminToken)).ShouldBeProblemAsync(404, "not_found");
        var stop = await MerchantAccounts.SendAsync(Http, HttpMethod.Post, $"/merchant/v1/vouchers/{id}/stop", adminToken);
        stop.StatusCode.ShouldBe(HttpStatusCode.OK, await stop.Content.ReadAsStringAsync());
        var stopped = (await stop.Content.ReadFromJsonAsync<JsonObject>())!;
        stopped["status"]!.GetValue<string>().ShouldBe("stopped");
        stopped["budget"]!["returned"]!.GetValue<long>().ShouldBe(5_000);
        stopped["budget"]!["left"]!.GetValue<long>().ShouldBe(0);
        (await Server.SettlementAsync(admin.MerchantId)).Available.ShouldBe(before);
        (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, $"/merchant/v1/vouchers/{id}/stop", adminToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Server.SettlementAsync(admin.MerchantId)).Available.ShouldBe(before, "a second stop returns nothing twice");
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task The_member_programme_and_its_members_with_masked_names_levels_and_spend_page_by_page()
    {
        var (app, _, adminToken) = await Server.ShopAsync();
        var (_, _, strangerToken) = await Server.ShopAsync();
        (await GetAsync(adminToken, "/merchant/v1/member-programme"))["items"]!.AsArray().ShouldBeEmpty();
        var templateId = (await Server.Caller(app).CallAsync("alipay.marketing.card.template.create", new
        {
            request_id = "P-" + Guid.NewGuid().ToString("N")[..8], card_type = "OUT_MEMBER_CARD", template_style_info = new { card_show_name = "会员卡" },
            card_level_conf = new object[]
            {
                new { level = "VIP1", level_show_name = "普通", level_desc = "入门" },
                new { level = "VIP2", level_show_name = "白银", qianbao_level_rule = new { min_spend_12m = "100.00", points_multiplier_bps = "15000" } },
            },
        })).ShouldBe("10000")["template_id"]!;
        var programme = (await GetAsync(adminToken, "/merchant/v1/member-programme"))["items"]!.AsArray().Single()!;
        programme["template_id"]!.GetValue<string>().ShouldBe(templateId);
        programme["levels"]!.AsArray().Select(l => l!["points_multiplier_bps"]!.GetValue<int>()).ShouldBe([10_000, 15_000]);
        programme["levels"]!.AsArray()[1]!["min_spend_12m"]!.GetValue<long>().ShouldBe(10_000);
        (await GetAsync(strangerToken, "/merchant/v1/member-programme"))["items"]!.AsArray().ShouldBeEmpty();

        var buyers = new List<WalletClient>();
        for (var i = 0; i < 3; i++)
        {
            var b = await Server.BuyerAsync(50_000, name: "张三丰");
            buyers.Add(b);
            (await Server.Caller(app).CallAsync("alipay.marketing.card.open", new
            {
                card_template_id = templateId, out_serial_no = "o-" + i, card_user_info = new { user_uni_id = b.UserId.ToString(), user_uni_id_type = "UID" },
            })).ShouldBe("10000");
        }
        await PayAsync(app, 12_000, buyers[0]);
        await Server.CountEventuallyAsync(1, "SELECT count(*) FROM membership_spend WHERE user_id = @u", new { u = buyers[0].UserId });

        var first = await GetAsync(adminToken, "/merchant/v1/members?limit=2");
        first["items"]!.AsArray().Count.ShouldBe(2);
        var second = await GetAsync(adminToken, "/merchant/v1/members?limit=2&cursor=" + first["next_cursor"]!.GetValue<string>());
        second["next_cursor"].ShouldBeNull();
        var all = first["items"]!.AsArray().Concat(second["items"]!.AsArray()).ToList();
        all.Count.ShouldBe(3);
        all.ShouldAllBe(m => m!["name"]!.GetValue<string>() != "张三丰" && m["name"]!.GetValue<string>().Length > 0);
        var spender = all.Single(m => m!["spend_12m"]!.GetValue<long>() > 0)!;
        spender["spend_12m"]!.GetValue<long>().ShouldBe(12_000);
        spender["level"]!.GetValue<string>().ShouldBe("VIP2");
        all.Count(m => m!["level"]!.GetValue<string>() == "VIP1").ShouldBe(2);
        (await GetAsync(strangerToken, "/merchant/v1/members"))["items"]!.AsArray().ShouldBeEmpty();
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/members?limit=101", adminToken)).ShouldBeProblemAsync(400, "invalid_limit");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/members?cursor=%%%", adminToken)).ShouldBeProblemAsync(400, "invalid_cursor");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/members", "qbm1.x.y")).ShouldBeProblemAsync(401, "unauthorized");
    }
}

public sealed class SqliteMerchantVoucherApiTests(SqliteGatewayServer server) : MerchantVoucherApiTests<SqliteGatewayServer>(server);

public sealed class PostgresMerchantVoucherApiTests(PostgresGatewayServer server) : MerchantVoucherApiTests<PostgresGatewayServer>(server);
