using Microsoft.Playwright;
using Qianbao.Server.Consoles.Shared;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Consoles.Wallet;

/// <summary>
/// The wallet console's other journeys on the same secure server: a login from a new browser (the SMS code the API
/// asks), a transfer that needs a step-up code, bad input answered with the API's refusal in the page's language (never
/// a 5xx), the payment code picture, and a screenshot of every main page in both languages at 390 px.
/// </summary>
[Collection(WalletConsole.Name)]
public sealed class WalletPagesTests(WalletBrowser browser)
{
    private static readonly string[] MainPages =
        ["", "funds", "transfer", "pay", "paycode", "history", "inbox", "me", "identity", "pin", "coupons", "points", "redpackets", "preferences", "security", "complaints"];

    [Fact]
    public async Task A_new_browser_logs_in_with_the_sms_code_sends_money_with_a_step_up_code_and_bad_input_shows_the_apis_refusal_in_either_language()
    {
        var person = await SecureUser.CreateAsync(browser.Http, ConsoleBrowser.OperatorKey, "韩梅梅");
        await person.TopUpAsync(50_000);
        var friend = await SecureUser.CreateAsync(browser.Http, ConsoleBrowser.OperatorKey, "李雷");

        var page = await browser.NewPageAsync("en", ConsoleBrowser.Phone);
        await page.GotoAsync("/wallet/transfer");
        page.Url.ShouldContain("/wallet/login?returnUrl=");
        await page.GetByLabel("Mobile number").FillAsync(person.Phone);
        await page.GetByLabel("Password").FillAsync(SecureUser.Password);
        var seen = await browser.MessageCountAsync(person.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("device_verification_required");
        await page.GetByLabel("Code from the SMS").FillAsync(await browser.NextCodeAsync(person.Phone, seen));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await WalletNavigation.ArrivedAtAsync(page, "/wallet/transfer");

        // Who the number belongs to, masked; then the transfer, which a device this new may only make with a step-up code.
        await page.GetByLabel("Recipient's mobile number").FillAsync(friend.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Check the recipient" }).ClickAsync();
        (await page.Locator("[data-recipient]").InnerTextAsync()).ShouldContain("*雷");
        await page.GetByLabel("Amount (yuan)").FillAsync("10.50");
        await page.GetByLabel("Payment PIN").FillAsync(SecureUser.Pin);
        seen = await browser.MessageCountAsync(person.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("step_up_required");
        await page.GetByLabel("Payment PIN").FillAsync(SecureUser.Pin);
        await page.GetByLabel("Security code").FillAsync(await browser.NextCodeAsync(person.Phone, seen));
        await page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("Sent ¥10.50");
        (await friend.AvailableAsync()).ShouldBe(1050);

        // Bad input: the API's refusal, in English its own words.
        await page.GotoAsync("/wallet/funds");
        await page.Locator("form[data-form=topup]").GetByLabel("Amount (yuan)").FillAsync("ten yuan");
        await page.Locator("form[data-form=topup]").GetByRole(AriaRole.Button, new() { Name = "Top up" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_amount");
        (await page.Locator("p.error").InnerTextAsync()).ShouldContain("amount must be an integer number of minor units");
        await page.GotoAsync("/wallet/history?From=yesterday");
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_time");
        await page.GotoAsync("/wallet/pay");
        await page.GetByLabel("Or paste the QR code's text").FillAsync("https://qr.example/not-a-trade");
        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("not_found");
        // A picture that is no picture, and one without a QR code: the console's own refusal.
        var notAnImage = Path.Combine(Directory.CreateTempSubdirectory("qianbao-bad-").FullName, "photo.png");
        await File.WriteAllTextAsync(notAnImage, "this is not a PNG");
        await page.GetByLabel("Upload a photo of the QR code").SetInputFilesAsync(notAnImage);
        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("qr_not_found");

        // The same in Chinese: the message for the code.
        await page.GotoAsync("/wallet/funds?lang=zh-CN");
        await page.Locator("form[data-form=topup]").GetByLabel("金额（元）").FillAsync("-5");
        await page.Locator("form[data-form=topup]").GetByRole(AriaRole.Button, new() { Name = "充值" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_amount");
        (await page.Locator("p.error").InnerTextAsync()).ShouldContain(ErrorTexts.Message("invalid_amount", null, ConsoleLanguage.Chinese));
        await page.GotoAsync("/wallet/identity");
        await page.GetByLabel("真实姓名").FillAsync("韩梅梅");
        await page.GetByLabel("居民身份证号码").FillAsync("110105194912310020");
        await page.GetByRole(AriaRole.Button, new() { Name = "提交认证" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_id_number");

        // The payment code: a PNG that a new one replaces.
        await page.GotoAsync("/wallet/paycode");
        await page.GetByLabel("支付密码").FillAsync(SecureUser.Pin);
        await page.GetByRole(AriaRole.Button, new() { Name = "显示付款码" }).ClickAsync();
        var image = await page.APIRequest.GetAsync("/wallet/paycode/image");
        image.Status.ShouldBe(200);
        image.Headers["content-type"].ShouldBe("image/png");
        // The picture holds an 18-digit code (its QR half read back), and the next one is another code.
        var first = Qianbao.Server.Consoles.Wallet.QrImages.Decode(new MemoryStream(await image.BodyAsync()));
        first.ShouldNotBeNull();
        first.ShouldMatch("^[0-9]{18}$");
        var second = Qianbao.Server.Consoles.Wallet.QrImages.Decode(new MemoryStream(await (await page.APIRequest.GetAsync("/wallet/paycode/image")).BodyAsync()));
        second.ShouldNotBe(first);
        (await page.Locator("img[data-refresh-ms]").GetAttributeAsync("data-refresh-ms")).ShouldBe("30000");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.paycode.zh-CN");

        browser.Failures[page].ShouldBeEmpty();
        await browser.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Every_main_page_renders_in_both_languages_at_390_px_with_a_label_for_every_input()
    {
        var person = await SecureUser.CreateAsync(browser.Http, ConsoleBrowser.OperatorKey, "王芳");
        // One browser (one device, one login code); the language switched by ?lang=, which the pages then remember.
        var page = await browser.NewPageAsync("zh-CN", ConsoleBrowser.Phone);
        await LogInAsync(page, person);
        foreach (var language in new[] { "zh-CN", "en" })
        {
            await page.GotoAsync("/wallet?lang=" + language);
            foreach (var name in MainPages)
            {
                var response = await page.GotoAsync("/wallet/" + name);
                response!.Status.ShouldBe(200, $"/wallet/{name}");
                (await page.Locator("html").GetAttributeAsync("lang")).ShouldBe(language);
                // Every visible input has a label around it; no page is wider than the phone.
                var unlabelled = await page.EvaluateAsync<int>(
                    "() => [...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea')].filter(i => !i.closest('label')).length");
                unlabelled.ShouldBe(0, $"/wallet/{name}");
                (await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth")).ShouldBeLessThanOrEqualTo(390, $"/wallet/{name}");
                // No text key left untranslated.
                (await page.Locator("body").InnerTextAsync()).ShouldNotContain("wallet.", customMessage: $"/wallet/{name}");
                await ConsoleBrowser.ScreenshotAsync(page, $"wallet.{(name.Length == 0 ? "home" : name)}.{language}");
            }
        }
        browser.Failures[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task Security_enrols_an_authenticator_from_its_qr_image_and_a_complaint_is_filed_and_listed()
    {
        var person = await SecureUser.CreateAsync(browser.Http, ConsoleBrowser.OperatorKey, "赵敏");
        var page = await browser.NewPageAsync("en", ConsoleBrowser.Phone);
        await LogInAsync(page, person);

        await page.GotoAsync("/wallet/security");
        (await page.Locator("table[data-sessions] tbody tr").CountAsync()).ShouldBeGreaterThanOrEqualTo(2);
        await page.GetByRole(AriaRole.Button, new() { Name = "Set up an authenticator" }).ClickAsync();
        var secret = await page.Locator("[data-totp-secret]").InnerTextAsync();
        (await page.Locator("img.code").GetAttributeAsync("src")).ShouldStartWith("data:image/png;base64,");
        // A wrong code first: the API's refusal; then the code the app would show.
        await page.GetByLabel("The 6 digits from the app").FillAsync("000000");
        await page.GetByRole(AriaRole.Button, new() { Name = "Turn it on" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_totp_code");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set up an authenticator" }).ClickAsync();
        secret = await page.Locator("[data-totp-secret]").InnerTextAsync();
        await page.GetByLabel("The 6 digits from the app").FillAsync(Operators.OperatorSupport.Code(secret, DateTimeOffset.UtcNow));
        await page.GetByRole(AriaRole.Button, new() { Name = "Turn it on" }).ClickAsync();
        (await page.Locator("[data-totp]").GetAttributeAsync("data-totp")).ShouldBe("on");
        (await person.GetJsonAsync("/v1/me"))["totp_enabled"]!.GetValue<bool>().ShouldBeTrue();

        await page.GotoAsync("/wallet/complaints");
        await page.GetByLabel("What happened").SelectOptionAsync("other");
        await page.GetByLabel("Tell us more").FillAsync("The shop closed early.");
        await page.GetByRole(AriaRole.Button, new() { Name = "File the complaint" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldContain("Complaint filed");
        (await page.Locator("ul[data-complaints] li").First.InnerTextAsync()).ShouldContain("The shop closed early.");
        browser.Failures[page].ShouldBeEmpty();
    }

    /// <summary>Logs in through the page from a fresh browser: the new device's SMS code included.</summary>
    private async Task LogInAsync(IPage page, SecureUser person)
    {
        await page.GotoAsync("/wallet/login");
        await page.Locator("input[name=Phone]").FillAsync(person.Phone);
        await page.Locator("input[name=Password]").FillAsync(SecureUser.Password);
        var seen = await browser.MessageCountAsync(person.Phone);
        await page.Locator("form button[type=submit]").ClickAsync();
        if (await page.Locator("input[name=Code]").CountAsync() > 0)
        {
            await page.Locator("input[name=Code]").FillAsync(await browser.NextCodeAsync(person.Phone, seen));
            await page.Locator("form button[type=submit]").ClickAsync();
        }
        await WalletNavigation.ArrivedAtAsync(page, "/wallet");
    }
}
