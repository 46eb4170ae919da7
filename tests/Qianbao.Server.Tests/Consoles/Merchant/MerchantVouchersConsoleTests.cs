using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Qianbao.Server.Tests.Consoles.PageChecks;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Operators;

namespace Qianbao.Server.Tests.Consoles.Merchant;

/// <summary>
/// The merchant console's vouchers and members pages in a real browser on a real server: the shop (paid once, so it has a
/// balance) creates a voucher in the page — a bad amount first shows the API's refusal in Chinese —, a user claims it (the
/// wallet API), the page shows it claimed once, the shop stops it; a user joins the shop's member programme (made through
/// the gateway, as the shop's software would) and appears as a member with their spend after a payment. Screenshots in
/// both languages.
/// </summary>
public sealed class MerchantVouchersConsoleTests(ConsoleBrowser browser) : IClassFixture<ConsoleBrowser>
{
    [Fact]
    public async Task A_shop_creates_a_voucher_sees_it_claimed_stops_it_and_sees_a_member_after_a_payment()
    {
        using var api = browser.Server.CreateClient();
        var login = await MerchantAccounts.SignupAsync(api, ConsoleBrowser.OperatorKey, relaxed: true);
        await MerchantAccounts.ApproveAsync(api, ConsoleBrowser.OperatorKey, login.MerchantId);
        var token = await MerchantAccounts.LoginAsync(api, login);
        var codeAnswer = await MerchantAccounts.SendAsync(api, HttpMethod.Get, "/merchant/v1/collection-code", token);
        var collectionCode = (await codeAnswer.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
        var buyer = await WalletClient.RegisterAsync(api, "李四");
        await buyer.TopUpAsync(50_000);
        await PayAsync(buyer, collectionCode, 20_000);

        var page = await browser.NewPageAsync("zh-CN");
        await page.GotoAsync("/merchant/vouchers");
        await page.Locator("input[name=email]").FillAsync(login.Email);
        await page.Locator("input[name=password]").FillAsync(login.Password);
        await page.Locator("input[name=totp]").FillAsync(OperatorSupport.Code(login.TotpSecret!, DateTimeOffset.UtcNow));
        await NavigatingAsync(page, () => page.Locator("main button[type=submit]").ClickAsync(),
            new() { UrlFunc = url => !url.Contains("/login", StringComparison.Ordinal) });
        new Uri(page.Url).AbsolutePath.ShouldBe("/merchant/vouchers");
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("商家券与营销活动");
        (await page.Locator("nav a[href='/merchant/vouchers']").CountAsync()).ShouldBe(1);

        // A bad amount: the API's 400 in the page's language, nothing created, what was typed kept.
        var lastDay = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).AddDays(7).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        await FillVoucherAsync(page, "开业立减", "0", "10", lastDay);
        await OkAsync(NavigatingAsync(page, () => page.Locator("form[action='/merchant/vouchers'] button[type=submit]").ClickAsync()));
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_discount_amount");
        (await page.Locator("p.error").InnerTextAsync()).ShouldContain("优惠金额无效");
        (await page.Locator("input[name=Name]").InputValueAsync()).ShouldBe("开业立减");
        (await page.Locator("tr[data-voucher]").CountAsync()).ShouldBe(0);

        await FillVoucherAsync(page, "开业立减", "5", "10", lastDay);
        await OkAsync(NavigatingAsync(page, () => page.Locator("form[action='/merchant/vouchers'] button[type=submit]").ClickAsync()));
        (await page.Locator("p.done").InnerTextAsync()).ShouldContain("商家券已创建");
        var row = page.Locator("tr[data-voucher]");
        (await row.CountAsync()).ShouldBe(1);
        var voucherId = (await row.GetAttributeAsync("data-voucher"))!;
        (await row.Locator("[data-claimed]").InnerTextAsync()).ShouldBe("0");
        (await row.Locator("td.num").Nth(4).InnerTextAsync()).ShouldBe("¥50.00", "value × quantity is the budget");

        // A user claims it in the wallet (the wallet API): the page shows it claimed once.
        var claim = await buyer.PostAsync("/v1/coupons", new { campaign_id = voucherId });
        claim.StatusCode.ShouldBe(HttpStatusCode.Created, await claim.Content.ReadAsStringAsync());
        await page.ReloadAsync();
        (await row.Locator("[data-claimed]").InnerTextAsync()).ShouldBe("1");
        await AllInputsLabelledAsync(page);
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.vouchers.zh-CN");
        await OkAsync(page.GotoAsync("/merchant/vouchers?lang=en"));
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("Vouchers and campaigns");
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.vouchers.en");

        // Stop: the remainder goes back, the row says stopped and offers no stop any more.
        await OkAsync(NavigatingAsync(page, () => row.Locator("form[action='/merchant/vouchers?handler=stop'] button").ClickAsync()));
        (await page.Locator("p.done").InnerTextAsync()).ShouldContain("Stopped");
        (await row.Locator("[data-status]").GetAttributeAsync("data-status")).ShouldBe("stopped");
        (await row.Locator("form").CountAsync()).ShouldBe(0);

        // The member programme (the shop's software makes it through the gateway); a user joins, pays and shows up.
        var app = await CreateAppAsync(api, login.MerchantId);
        var templateId = (await new GatewayCaller(api, app.AppId, SdkKeys.App, app.PlatformPublicKey).CallAsync("alipay.marketing.card.template.create", new
        {
            request_id = "console-1", card_type = "OUT_MEMBER_CARD", template_style_info = new { card_show_name = "小店会员" },
            card_level_conf = new object[]
            {
                new { level = "VIP1", level_show_name = "普通会员" },
                new { level = "VIP2", level_show_name = "金卡会员", qianbao_level_rule = new { min_spend_12m = "100.00", points_multiplier_bps = "20000" } },
            },
        })).ShouldBe("10000")["template_id"]!;
        var member = await WalletClient.RegisterAsync(api, "王五");
        await member.TopUpAsync(30_000);
        (await member.PostAsync("/v1/memberships", new { template_id = templateId })).StatusCode.ShouldBe(HttpStatusCode.Created);
        await OkAsync(page.GotoAsync("/merchant/members?lang=zh-CN"));
        (await page.Locator($"table[data-programme='{templateId}'] tbody tr").CountAsync()).ShouldBe(2);
        await PayAsync(member, collectionCode, 12_000);
        await Poll.UntilAsync(async () =>
        {
            await page.GotoAsync("/merchant/members");
            return await page.Locator("tr[data-member] td.num").CountAsync() == 1
                && await page.Locator("tr[data-member] td.num").InnerTextAsync() == "¥120.00";
        }, "the member's spend to follow the payment");
        (await page.Locator("tr[data-member] [data-level]").GetAttributeAsync("data-level")).ShouldBe("VIP2");
        (await page.Locator("tr[data-member] td").Nth(1).InnerTextAsync()).ShouldNotBe("王五", "names are masked");
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.members.zh-CN");
        await OkAsync(page.GotoAsync("/merchant/members?lang=en"));
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("Members");
        (await page.Locator("p.error").CountAsync()).ShouldBe(0);
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.members.en");

        using var check = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/ledger/check");
        check.Headers.Authorization = new("Bearer", ConsoleBrowser.OperatorKey);
        using var checkResponse = await api.SendAsync(check);
        var checkBody = await checkResponse.Content.ReadAsStringAsync();
        JsonNode.Parse(checkBody)!["ok"]!.GetValue<bool>().ShouldBeTrue(checkBody);
    }

    private static async Task PayAsync(WalletClient payer, string collectionCode, long fen)
    {
        var paid = await payer.PostAsync($"/v1/collection-codes/{collectionCode}/pay", new { amount = fen });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
    }

    private static async Task<MerchantApp> CreateAppAsync(HttpClient api, Guid merchantId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/merchants/{merchantId}/apps");
        request.Headers.Authorization = new("Bearer", ConsoleBrowser.OperatorKey);
        request.Content = JsonContent.Create(new { app_public_key_pem = AlipayKeys.ExportPublicKeyBase64(SdkKeys.App) });
        using var created = await api.SendAsync(request);
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var json = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        return new MerchantApp(merchantId, json["app_id"]!.GetValue<string>(), json["platform_public_key"]!.GetValue<string>());
    }

    private static async Task FillVoucherAsync(IPage page, string name, string amount, string quantity, string lastDay)
    {
        await page.Locator("input[name=Name]").FillAsync(name);
        await page.Locator("input[name=Amount]").FillAsync(amount);
        await page.Locator("input[name=Quantity]").FillAsync(quantity);
        await page.Locator("input[name=PublishEnd]").FillAsync(lastDay);
        await page.Locator("input[name=ValidDays]").FillAsync("30");
    }
}
