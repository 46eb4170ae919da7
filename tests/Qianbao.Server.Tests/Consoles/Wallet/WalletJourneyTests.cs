using Microsoft.Playwright;
using Qianbao.Server.Consoles.Shared;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Consoles.Wallet;

/// <summary>
/// The wallet console in a real browser at 390 px, on a server with account security on: a new person registers with
/// the SMS code, verifies an identity, sets a PIN, tops up, pays a shop by uploading a photo of its QR code, and sees
/// the payment in the history and, without reloading, in the inbox.
/// </summary>
[Collection(WalletConsole.Name)]
public sealed class WalletJourneyTests(WalletBrowser browser)
{
    private const string Pin = "135790";

    [Fact]
    public async Task A_new_person_registers_verifies_tops_up_pays_a_shop_by_qr_photo_and_sees_it_in_history_and_live_in_the_inbox()
    {
        var page = await browser.NewPageAsync("zh-CN", ConsoleBrowser.Phone);
        var phone = SecureUser.NewPhone();

        // Register: the code the SMS brought.
        await page.GotoAsync("/wallet");
        page.Url.ShouldContain("/wallet/login");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.login.zh-CN");
        await page.GetByRole(AriaRole.Link, new() { Name = "还没有账户？注册" }).ClickAsync();
        await page.GetByLabel("手机号").FillAsync(phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "获取短信验证码" }).ClickAsync();
        await page.Locator("p.done").WaitForAsync();
        var code = await browser.NextCodeAsync(phone, 0);
        await page.GetByLabel("短信验证码").FillAsync(code);
        await page.GetByLabel("昵称或姓名").FillAsync("李磊");
        await page.GetByLabel("设置登录密码").FillAsync(SecureUser.Password);
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.register.zh-CN");
        await page.GetByRole(AriaRole.Button, new() { Name = "注册并登录" }).ClickAsync();
        await WalletNavigation.ArrivedAtAsync(page, "/wallet?welcome=1");
        (await page.Locator("[data-balance]").GetAttributeAsync("data-balance")).ShouldBe("0");
        (await page.Locator("main").InnerTextAsync()).ShouldContain("未实名");

        // Identity (class I), then the PIN with a set_pin code.
        await page.GotoAsync("/wallet/identity");
        await page.GetByLabel("真实姓名").FillAsync("李磊");
        await page.GetByLabel("居民身份证号码").FillAsync(SecureUser.NewIdNumber());
        await page.GetByRole(AriaRole.Button, new() { Name = "提交认证" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("实名认证已完成。");
        (await page.Locator("[data-tier]").GetAttributeAsync("data-tier")).ShouldBe("class_i");

        await page.GotoAsync("/wallet/pin");
        var seen = await browser.MessageCountAsync(phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "获取短信验证码" }).ClickAsync();
        await page.GetByLabel("短信验证码").FillAsync(await browser.NextCodeAsync(phone, seen));
        await page.GetByLabel("新支付密码").FillAsync(Pin);
        await page.GetByRole(AriaRole.Button, new() { Name = "保存" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("支付密码已设置。");

        // Top up ¥200; the sandbox bank confirms shortly after.
        await page.GotoAsync("/wallet/funds");
        await page.Locator("form[data-form=topup]").GetByLabel("金额（元）").FillAsync("200");
        await page.Locator("form[data-form=topup]").GetByRole(AriaRole.Button, new() { Name = "充值" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldContain("充值已提交");
        await Poll.UntilAsync(async () =>
        {
            await page.GotoAsync("/wallet");
            return await page.Locator("[data-balance]").GetAttributeAsync("data-balance") == "20000";
        }, "the top-up to show in the balance");
        (await page.Locator(".amount").InnerTextAsync()).ShouldBe("¥200.00");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.journey-home.zh-CN");

        // The inbox is open in another tab of the same browser, connected to the live stream before the payment.
        var inbox = await page.Context.NewPageAsync();
        var streaming = inbox.WaitForResponseAsync(r => r.Url.EndsWith("/wallet/inbox/stream", StringComparison.Ordinal) && r.Status == 200);
        await inbox.GotoAsync("/wallet/inbox");
        await streaming;
        var before = await inbox.Locator("ol.inbox li").CountAsync();

        // The shop shows a QR code for ¥12.34; the person uploads a photo of it.
        var shop = await browser.ShopAsync("楼下咖啡");
        var qr = await WalletBrowser.TradeQrAsync(shop, "12.34", "拿铁");
        await page.GotoAsync("/wallet/pay");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.journey-pay.zh-CN");
        await page.GetByLabel("上传二维码照片").SetInputFilesAsync(WalletBrowser.QrPngFile(qr));
        await page.GetByRole(AriaRole.Button, new() { Name = "下一步" }).ClickAsync();
        (await page.Locator("[data-merchant]").InnerTextAsync()).ShouldBe("楼下咖啡");
        (await page.Locator("[data-pay-amount]").GetAttributeAsync("data-pay-amount")).ShouldBe("1234");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.pay-preview.zh-CN");

        // A wrong PIN is the API's refusal, in Chinese; nothing is paid and the preview stays.
        await page.GetByLabel("支付密码").FillAsync("246810");
        await page.GetByRole(AriaRole.Button, new() { Name = "确认付款" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_pin");
        (await page.Locator("p.error").InnerTextAsync()).ShouldContain(ErrorTexts.Message("invalid_pin", null, ConsoleLanguage.Chinese));
        await page.GetByLabel("支付密码").FillAsync(Pin);
        await page.GetByRole(AriaRole.Button, new() { Name = "确认付款" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("付款成功 ¥12.34");

        // Live in the inbox, without a reload.
        await inbox.Locator("ol.inbox li", new() { HasTextString = "12.34" }).First.WaitForAsync();
        (await inbox.Locator("ol.inbox li").CountAsync()).ShouldBeGreaterThan(before);
        (await inbox.Locator("ol.inbox li").First.InnerTextAsync()).ShouldContain("楼下咖啡");
        await ConsoleBrowser.ScreenshotAsync(inbox, "wallet.journey-inbox-live.zh-CN");

        // In the history, filtered to payments.
        await page.GotoAsync("/wallet/history");
        await page.GetByLabel("类型").SelectOptionAsync("payment");
        await page.GetByRole(AriaRole.Button, new() { Name = "搜索" }).ClickAsync();
        var rows = page.Locator("table[data-transactions] tbody tr");
        (await rows.CountAsync()).ShouldBe(1);
        (await rows.First.InnerTextAsync()).ShouldContain("-¥12.34");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.journey-history.zh-CN");

        await page.GotoAsync("/wallet");
        (await page.Locator("[data-balance]").GetAttributeAsync("data-balance")).ShouldBe("18766");
        // Every page fits a 390-px phone: nothing is wider than the screen.
        (await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth")).ShouldBeLessThanOrEqualTo(390);
        browser.Failures[page].ShouldBeEmpty();
        await browser.AssertLedgerOkAsync();
    }
}
