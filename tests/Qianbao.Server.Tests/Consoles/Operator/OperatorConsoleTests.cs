using Microsoft.Playwright;
using static Qianbao.Server.Tests.Consoles.Operator.OperatorConsoleSupport;

namespace Qianbao.Server.Tests.Consoles.Operator;

/// <summary>
/// The operator console in a real browser against a real server: sign-in with TOTP and with the operator key, the KPI
/// dashboard, a role the API refuses, bad input shown as the API's error in the page's language.
/// </summary>
public sealed class OperatorConsoleTests(ConsoleBrowser browser) : IClassFixture<ConsoleBrowser>
{
    [Fact]
    public async Task TheOwnerSignsInWithTheOperatorKeyAndSignsOut()
    {
        var page = await browser.NewPageAsync("zh-CN");
        await page.GotoAsync("/operator");
        page.Url.ShouldContain("/operator/login");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.login.zh-CN");
        await page.GotoAsync("/operator/login?lang=en");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.login.en");

        await LoginWithKeyAsync(page, "not-the-key");
        (await ErrorAsync(page))!.Value.Code.ShouldBe("unauthorized");

        await LoginWithKeyAsync(page);
        new Uri(page.Url).AbsolutePath.ShouldBe("/operator");
        (await page.Locator("#kpis").CountAsync()).ShouldBe(1);
        (await ErrorAsync(page)).ShouldBeNull();

        await page.GotoAsync("/operator/logout");
        await SubmitAsync(page.Locator("main form button[type=submit]"));
        await page.WaitForLoadStateAsync();
        new Uri(page.Url).AbsolutePath.ShouldBe("/operator/login", await page.ContentAsync());
        await page.GotoAsync("/operator");
        page.Url.ShouldContain("/operator/login");
    }

    [Fact]
    public async Task AFinanceOperatorSignsInWithTotpAndReadsTheKpisInBothLanguages()
    {
        var finance = await EnrolAsync(browser, "finance");
        // A person who tops up gets a transaction notification in the app: a row of the messaging rates.
        using (var api = browser.Server.CreateClient())
            await (await Infrastructure.WalletClient.RegisterAsync(api, "王五")).TopUpAsync(1_000);
        var page = await browser.NewPageAsync("en");
        await page.GotoAsync("/operator/login");
        var form = page.Locator("#login-form");
        await form.Locator("input[name=email]").FillAsync(finance.Email);
        await form.Locator("input[name=password]").FillAsync("a wrong password 123");
        await form.Locator("input[name=totp]").FillAsync("000000");
        await SubmitAsync(form.Locator("button[type=submit]"));
        (await ErrorAsync(page))!.Value.Code.ShouldBe("invalid_credentials");

        await LoginAsync(page, finance);
        new Uri(page.Url).AbsolutePath.ShouldBe("/operator");
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("Key figures");
        (await page.Locator("[data-kpi=registrations]").InnerTextAsync()).ShouldMatch("^[0-9]+$");
        (await page.Locator("#transactions tbody tr").CountAsync()).ShouldBeGreaterThan(0);
        (await page.Locator("svg.chart").CountAsync()).ShouldBeGreaterThan(0);
        // The messaging rates per category and channel (the notifications follow the events within moments).
        var inApp = page.Locator("#messaging tr[data-category=transaction][data-channel=in_app]");
        await Infrastructure.Poll.UntilAsync(async () =>
        {
            await page.ReloadAsync();
            return await inApp.CountAsync() == 1;
        }, "the top-up's notification in the messaging rates");
        (await page.Locator("#messaging thead th").AllInnerTextsAsync()).ShouldBe(
            ["Category", "Channel", "Sent", "Delivered (rate)", "Open rate", "Click rate", "Opt-out rate", "Spam-feedback rate"]);
        (await inApp.Locator("td").First.InnerTextAsync()).ShouldBe("Transaction");
        int.Parse(await inApp.Locator("[data-field=sent]").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThanOrEqualTo(1);
        (await inApp.Locator("[data-field=delivered]").InnerTextAsync()).ShouldContain("%)");
        (await inApp.Locator("[data-field=open]").InnerTextAsync()).ShouldMatch(@"^[0-9.]+% \([0-9]+\)$");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.dashboard.en");
        await page.GotoAsync("/operator?lang=zh-CN");
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("经营指标");
        (await page.Locator("#messaging-title").InnerTextAsync()).ShouldBe("消息触达");
        (await page.Locator("#messaging tr[data-category=transaction][data-channel=in_app] td").Nth(1).InnerTextAsync()).ShouldBe("站内信");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.dashboard.zh-CN");

        // A range the API refuses: its error in the page's language, and no 5xx.
        var response = await page.GotoAsync("/operator?from=2026-03-10&to=2026-03-01");
        response!.Status.ShouldBeLessThan(500);
        var error = (await ErrorAsync(page))!.Value;
        error.Code.ShouldBe("invalid_date_range");
        error.Message.ShouldNotContain("to must not be before from");
        response = await page.GotoAsync("/operator?from=yesterday&to=2026-03-01&lang=en");
        response!.Status.ShouldBeLessThan(500);
        (await ErrorAsync(page))!.Value.Message.ShouldContain("from and to must be calendar dates");
    }

    [Fact]
    public async Task ARoleTheApiRefusesSeesItsForbiddenMessage()
    {
        var support = await EnrolAsync(browser, "support");
        var page = await browser.NewPageAsync("en");
        await LoginAsync(page, support);
        var error = (await ErrorAsync(page))!.Value;
        error.Code.ShouldBe("forbidden");
        error.Message.ShouldContain("yours is support");
        (await page.Locator("#kpis").CountAsync()).ShouldBe(0);
    }
}
