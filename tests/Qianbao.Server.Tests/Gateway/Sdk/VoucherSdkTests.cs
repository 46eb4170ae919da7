using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// Merchant vouchers through the official alipay-sdk (every answer's signature verified): a template funded from the
/// merchant's settlement balance (and refused when it is short, nothing moving), sends idempotent per out_biz_no, the
/// voucher's query, the user seeing it among their coupons, and a merchant acting only on its own templates.
/// </summary>
public abstract class VoucherSdkTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private static readonly string Start = AlipayTime.ToChinaString(DateTimeOffset.UtcNow.AddMinutes(-5));
    private static readonly string End = AlipayTime.ToChinaString(DateTimeOffset.UtcNow.AddDays(30));

    private async Task<(SdkDriver Sdk, MerchantApp App)> MerchantAsync()
    {
        var sdk = await server.SdkAsync();
        var app = await server.CreateMerchantWithAppAsync(0);
        await sdk.RegisterAsync(app.AppId, app.AppId, SdkKeys.PrivatePkcs1(SdkKeys.App), app.PlatformPublicKey);
        return (sdk, app);
    }

    /// <summary>A buyer pays the merchant <paramref name="yuan"/> by QR, filling its settlement balance (fee 0).</summary>
    private async Task PayAsync(SdkDriver sdk, MerchantApp app, WalletClient buyer, string yuan)
    {
        var precreated = await sdk.ExecAsync(app.AppId, "alipay.trade.precreate",
            new { out_trade_no = "V-" + Guid.NewGuid().ToString("N"), total_amount = yuan, subject = "充值余额" });
        precreated["code"]!.GetValue<string>().ShouldBe("10000", precreated.ToJsonString());
        var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = precreated["qrCode"]!.GetValue<string>() });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
    }

    private static object Template(string outBizNo, string amount, int quantity, string? floor = null, object? period = null) => new
    {
        voucher_type = "CASHLESS_FIX_VOUCHER", brand_name = "小钱咖啡", publish_start_time = Start, publish_end_time = End,
        voucher_valid_period = period ?? """{"type":"RELATIVE","duration":7,"unit":"DAY"}""", out_biz_no = outBizNo, amount, floor_amount = floor,
        voucher_quantity = quantity, voucher_description = "满额立减",
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

    [Fact]
    public async Task A_template_is_funded_from_the_merchant_balance_and_refused_without_moving_money_when_short()
    {
        var (sdk, app) = await MerchantAsync();
        var buyer = await server.BuyerAsync(20_000);

        // No settlement account yet: short.
        var before = await server.LedgerFingerprintAsync();
        Business(await sdk.ExecAsync(app.AppId, "alipay.marketing.cashlessvoucher.template.create", Template("T-0", "5.00", 10)), "INSUFFICIENT_BALANCE");
        (await server.LedgerFingerprintAsync()).ShouldBe(before);

        await PayAsync(sdk, app, buyer, "100.00");
        (await server.SettlementAsync(app.MerchantId)).Available.ShouldBe(10_000);

        // 5.00 × 10 = ¥50 moves from the balance into the template's budget.
        var created = Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.cashlessvoucher.template.create", Template("T-1", "5.00", 10, "20.00")));
        var templateId = created["templateId"]!.GetValue<string>();
        templateId.Length.ShouldBe(32);
        (await server.SettlementAsync(app.MerchantId)).Available.ShouldBe(5_000);

        // The same out_biz_no: the same template, nothing moves again.
        Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.cashlessvoucher.template.create", Template("T-1", "5.00", 10, "20.00")))["templateId"]!
            .GetValue<string>().ShouldBe(templateId);
        (await server.SettlementAsync(app.MerchantId)).Available.ShouldBe(5_000);

        // ¥51 needed, ¥50 left: refused, nothing moves.
        before = await server.LedgerFingerprintAsync();
        Business(await sdk.ExecAsync(app.AppId, "alipay.marketing.cashlessvoucher.template.create", Template("T-2", "5.10", 10)), "INSUFFICIENT_BALANCE");
        (await server.LedgerFingerprintAsync()).ShouldBe(before);
        (await server.SettlementAsync(app.MerchantId)).Available.ShouldBe(5_000);

        // Exactly what is left is enough (an ABSOLUTE validity this time).
        var period = $$"""{"type":"ABSOLUTE","start":"{{Start}}","end":"{{End}}"}""";
        Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.cashlessvoucher.template.create", Template("T-3", "50.00", 1, null, period)));
        (await server.SettlementAsync(app.MerchantId)).Available.ShouldBe(0);

        // Bad input is a 40002 with the parameter named, and moves nothing.
        var bad = await sdk.ExecAsync(app.AppId, "alipay.marketing.cashlessvoucher.template.create", Template("T-4", "1.00", 1, null, """{"type":"SOMETIMES"}"""));
        bad["code"]!.GetValue<string>().ShouldBe("40002", bad.ToJsonString());
        var tooLong = await sdk.ExecAsync(app.AppId, "alipay.marketing.cashlessvoucher.template.create", new
        {
            voucher_type = "CASHLESS_FIX_VOUCHER", brand_name = "一二三四五六七八九十一二三", publish_start_time = Start, publish_end_time = End,
            voucher_valid_period = """{"type":"RELATIVE","duration":7}""", out_biz_no = "T-5", amount = "1.00", voucher_quantity = 1,
        });
        tooLong["code"]!.GetValue<string>().ShouldBe("40002", tooLong.ToJsonString());
        var tooWide = await sdk.ExecAsync(app.AppId, "alipay.marketing.cashlessvoucher.template.create", new
        {
            voucher_type = "CASHLESS_FIX_VOUCHER", brand_name = "小钱", publish_start_time = Start,
            publish_end_time = AlipayTime.ToChinaString(DateTimeOffset.UtcNow.AddDays(91)),
            voucher_valid_period = """{"type":"RELATIVE","duration":7}""", out_biz_no = "T-6", amount = "1.00", voucher_quantity = 1,
        });
        tooWide["code"]!.GetValue<string>().ShouldBe("40002", tooWide.ToJsonString());
        await server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_send_is_idempotent_per_out_biz_no_the_voucher_is_queried_and_the_user_sees_it()
    {
        var (sdk, app) = await MerchantAsync();
        var buyer = await server.BuyerAsync(20_000);
        var other = await server.BuyerAsync(0);
        await PayAsync(sdk, app, buyer, "100.00");
        var templateId = Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.cashlessvoucher.template.create", Template("S-1", "3.00", 2, "10.00")))
            ["templateId"]!.GetValue<string>();
        var userId = buyer.UserId.ToString("N"); // as buyer_user_id shows the buyer

        var sent = Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.voucher.send", new { template_id = templateId, user_id = userId, out_biz_no = "send-1" }));
        var voucherId = sent["voucherId"]!.GetValue<string>();
        Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.voucher.send", new { template_id = templateId, user_id = userId, out_biz_no = "send-1" }))
            ["voucherId"]!.GetValue<string>().ShouldBe(voucherId);
        // The same out_biz_no for another user is the merchant's mistake, not a second voucher.
        Business(await sdk.ExecAsync(app.AppId, "alipay.marketing.voucher.send",
            new { template_id = templateId, user_id = other.UserId.ToString("N"), out_biz_no = "send-1" }), "ACQ.CONTEXT_INCONSISTENT");
        var second = Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.voucher.send",
            new { template_id = templateId, user_id = other.UserId.ToString("N"), out_biz_no = "send-2" }))["voucherId"]!.GetValue<string>();
        second.ShouldNotBe(voucherId);
        // Two of two sent.
        Business(await sdk.ExecAsync(app.AppId, "alipay.marketing.voucher.send", new { template_id = templateId, user_id = userId, out_biz_no = "send-3" }),
            "VOUCHER_STOCK_NOT_ENOUGH");
        Business(await sdk.ExecAsync(app.AppId, "alipay.marketing.voucher.send",
            new { template_id = templateId, user_id = Guid.NewGuid().ToString("N"), out_biz_no = "send-4" }), "USER_NOT_EXIST");

        var query = Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.voucher.query", new { voucher_id = voucherId }));
        query["status"]!.GetValue<string>().ShouldBe("ENABLED");
        query["templateId"]!.GetValue<string>().ShouldBe(templateId);
        query["userId"]!.GetValue<string>().ShouldBe(userId);
        query["amount"]!.GetValue<string>().ShouldBe("3.00");
        query["floorAmount"]!.GetValue<string>().ShouldBe("10.00");

        // The user sees it among their coupons: a threshold coupon usable only at this merchant.
        var coupons = await buyer.GetJsonAsync("/v1/coupons");
        var coupon = coupons["items"]!.AsArray().Single()!;
        coupon["id"]!.GetValue<Guid>().ToString("N").ShouldBe(voucherId);
        coupon["campaign_id"]!.GetValue<Guid>().ToString("N").ShouldBe(templateId);
        coupon["status"]!.GetValue<string>().ShouldBe("available");
        coupon["type"]!.GetValue<string>().ShouldBe("threshold");
        coupon["amount"]!.GetValue<long>().ShouldBe(300);
        coupon["min_spend"]!.GetValue<long>().ShouldBe(1_000);

        // The campaign behind it is merchant-funded and applies only there.
        var campaign = (await (await server.OperatorSendAsync(HttpMethod.Get, $"/admin/v1/campaigns/{Guid.ParseExact(templateId, "N")}"))
            .Content.ReadFromJsonAsync<JsonObject>())!;
        campaign["funding"]!["merchant_id"]!.GetValue<Guid>().ShouldBe(app.MerchantId);
        campaign["merchant_ids"]!.AsArray().Select(m => m!.GetValue<Guid>()).ShouldBe([app.MerchantId]);
        campaign["budget"]!["amount"]!.GetValue<long>().ShouldBe(600);
        campaign["coupons"]!["claimed"]!.GetValue<int>().ShouldBe(2);
        await server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_merchant_acts_only_on_its_own_templates_and_vouchers()
    {
        var (sdk, app) = await MerchantAsync();
        var (_, stranger) = await MerchantAsync();
        var buyer = await server.BuyerAsync(20_000);
        await PayAsync(sdk, app, buyer, "10.00");
        var templateId = Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.cashlessvoucher.template.create", Template("O-1", "1.00", 5)))
            ["templateId"]!.GetValue<string>();
        var voucherId = Ok(await sdk.ExecAsync(app.AppId, "alipay.marketing.voucher.send",
            new { template_id = templateId, user_id = buyer.UserId.ToString("N"), out_biz_no = "o-1" }))["voucherId"]!.GetValue<string>();

        Business(await sdk.ExecAsync(stranger.AppId, "alipay.marketing.voucher.send",
            new { template_id = templateId, user_id = buyer.UserId.ToString("N"), out_biz_no = "o-2" }), "TEMPLATE_NOT_EXIST");
        Business(await sdk.ExecAsync(stranger.AppId, "alipay.marketing.voucher.query", new { voucher_id = voucherId }), "VOUCHER_NOT_EXIST");
        Business(await sdk.ExecAsync(app.AppId, "alipay.marketing.voucher.query", new { voucher_id = Guid.NewGuid().ToString("N") }), "VOUCHER_NOT_EXIST");
        (await server.CountAsync("SELECT count(*) FROM coupons WHERE campaign_id = @id", new { id = Guid.ParseExact(templateId, "N") })).ShouldBe(1);
        await server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Concurrent_retries_create_one_template_and_send_one_voucher()
    {
        var (sdk, app) = await MerchantAsync();
        var buyer = await server.BuyerAsync(20_000);
        await PayAsync(sdk, app, buyer, "100.00");
        var caller = server.Caller(app);

        // Ten concurrent creates under one out_biz_no: one template, funded once.
        var creates = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            caller.CallAsync("alipay.marketing.cashlessvoucher.template.create", Template("R-1", "2.00", 5))));
        foreach (var answer in creates) answer.ShouldBe("10000");
        creates.Select(a => a["template_id"]).Distinct().Count().ShouldBe(1);
        var templateId = creates[0]["template_id"]!;
        (await server.SettlementAsync(app.MerchantId)).Available.ShouldBe(10_000 - 1_000);

        // Ten concurrent sends under one out_biz_no: one voucher.
        var sends = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => caller.CallAsync("alipay.marketing.voucher.send",
            new { template_id = templateId, user_id = buyer.UserId.ToString("N"), out_biz_no = "race-1" })));
        foreach (var answer in sends) answer.ShouldBe("10000");
        sends.Select(a => a["voucher_id"]).Distinct().Count().ShouldBe(1);
        (await server.CountAsync("SELECT count(*) FROM coupons WHERE campaign_id = @id", new { id = Guid.ParseExact(templateId, "N") })).ShouldBe(1);
        await server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteVoucherSdkTests(SqliteGatewayServer server) : VoucherSdkTests<SqliteGatewayServer>(server);

public sealed class PostgresVoucherSdkTests(PostgresGatewayServer server) : VoucherSdkTests<PostgresGatewayServer>(server);
