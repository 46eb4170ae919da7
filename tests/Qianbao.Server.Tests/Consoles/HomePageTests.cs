using Microsoft.Playwright;

namespace Qianbao.Server.Tests.Consoles;

/// <summary>The home page in a real browser: links to the three consoles, both languages, the choice remembered.</summary>
public sealed class HomePageTests(ConsoleBrowser browser) : IClassFixture<ConsoleBrowser>
{
    [Fact]
    public async Task LinksToTheThreeConsolesInChineseByDefaultAndInEnglishOnRequest()
    {
        var page = await browser.NewPageAsync("zh-CN", ConsoleBrowser.Phone);
        await page.GotoAsync("/");
        (await page.Locator("html").GetAttributeAsync("lang")).ShouldBe("zh-CN");
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("选择控制台");
        var links = await page.Locator("ul.cards a").EvaluateAllAsync<string[]>("links => links.map(a => a.getAttribute('href'))");
        links.ShouldBe(["/wallet", "/merchant", "/operator"]);
        await ConsoleBrowser.ScreenshotAsync(page, "home.zh-CN");

        await page.GetByRole(AriaRole.Link, new() { Name = "English" }).ClickAsync();
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("Choose a console");
        await ConsoleBrowser.ScreenshotAsync(page, "home.en");

        // Remembered without the query; the style sheet comes from Qianbao itself.
        await page.GotoAsync("/");
        (await page.Locator("html").GetAttributeAsync("lang")).ShouldBe("en");
        var css = await page.APIRequest.GetAsync("/assets/console.css");
        css.Status.ShouldBe(200);
        css.Headers["content-type"].ShouldStartWith("text/css");
    }

    [Fact]
    public async Task AnEnglishBrowserGetsEnglishAndTheKeyboardReachesEveryLink()
    {
        var page = await browser.NewPageAsync("en");
        await page.GotoAsync("/");
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("Choose a console");
        // Tab order: skip link, brand, (nav), language switch, then the three consoles.
        var focused = new List<string?>();
        for (var i = 0; i < 6; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            focused.Add(await page.EvaluateAsync<string?>("() => document.activeElement?.getAttribute('href')"));
        }
        focused.ShouldContain("/wallet");
        focused.ShouldContain("/operator");
    }
}
