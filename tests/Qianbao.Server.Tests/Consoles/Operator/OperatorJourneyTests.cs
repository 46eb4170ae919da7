using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;
using Qianbao.Server.Tests.Infrastructure;
using static Qianbao.Server.Tests.Consoles.Operator.OperatorConsoleSupport;

namespace Qianbao.Server.Tests.Consoles.Operator;

/// <summary>
/// The operator journey through the pages: an operator logs in with TOTP, resolves an AML case (a watchlist hit
/// at real-name verification, set up through the API as the Risk tests do), finds the person by phone (masked), reveals
/// them (audited), freezes them, and reads the KPIs; the merchant review queue approves and rejects.
/// </summary>
public sealed class OperatorJourneyTests(ConsoleBrowser browser) : IClassFixture<ConsoleBrowser>
{
    private const string ListedName = "欧阳明哲";

    [Fact]
    public async Task AnOperatorLogsInWithTotpResolvesACaseFindsThePersonAndReadsTheKpis()
    {
        // Setup, as a compliance officer and a new user would do it through the API.
        using var owner = Owner(browser);
        (await owner.PostAsJsonAsync("/admin/v1/risk/watchlist", new { name = ListedName, list = "test sanctions", note = "console test" }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        var http = browser.Server.CreateClient();
        var user = await SecureUser.CreateAsync(http, ConsoleBrowser.OperatorKey, ListedName, setPin: false, verifyIdentity: false);
        var held = await user.SendAsync(HttpMethod.Post, "/v1/me/identity", new { name = ListedName, id_number = SecureUser.NewIdNumber() });
        held.StatusCode.ShouldBe(HttpStatusCode.Accepted, await held.Content.ReadAsStringAsync());
        var op = await EnrolAsync(browser, "owner");

        var page = await browser.NewPageAsync("zh-CN");
        await LoginAsync(page, op);

        // The identity review: the held verification's case, resolved "cleared".
        await SubmitAsync(page.GetByRole(AriaRole.Link, new() { Name = "实名审核" }));
        var row = page.Locator($"#cases tr[data-subject='{user.UserId}']");
        await Poll.UntilAsync(async () =>
        {
            if (await row.CountAsync() > 0) return true;
            await page.ReloadAsync();
            return false;
        }, "the watchlist case in the page", 10_000);
        await ConsoleBrowser.ScreenshotAsync(page, "operator.cases.zh-CN");
        await SubmitAsync(row.GetByRole(AriaRole.Link));
        (await page.Locator("[data-field=status]").InnerTextAsync()).ShouldBe("待处理");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.case.zh-CN");
        await page.Locator("#resolve-form select[name=decision]").SelectOptionAsync("cleared");
        await page.Locator("#resolve-form textarea[name=note]").FillAsync("同名不同人，已核实证件");
        await SubmitAsync(page.Locator("#resolve-form button[type=submit]"));
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("已完成");
        (await page.Locator("[data-field=status]").InnerTextAsync()).ShouldBe("已结案");
        (await page.Locator("[data-field=decision]").InnerTextAsync()).ShouldBe("排除嫌疑");
        // Clearing completed the verification (the API's consequence, not the page's).
        (await user.GetJsonAsync("/v1/me"))["tier"]!.GetValue<string>().ShouldBe("class_i");
        await page.GotoAsync(page.Url.Split('?')[0] + "?lang=en");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.case.en");
        await page.GotoAsync("/operator/cases?lang=en");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.cases.en");

        // Users: search by phone (masked), the detail, the audited reveal, a freeze.
        await page.GotoAsync("/operator/users?lang=zh-CN");
        await page.GetByLabel("手机号").FillAsync("12345");
        await SubmitAsync(page.GetByRole(AriaRole.Button, new() { Name = "搜索" }));
        (await ErrorAsync(page))!.Value.Code.ShouldBe("invalid_phone");
        await page.GetByLabel("手机号").FillAsync(user.Phone);
        await SubmitAsync(page.GetByRole(AriaRole.Button, new() { Name = "搜索" }));
        var found = page.Locator("#users tbody tr");
        (await found.CountAsync()).ShouldBe(1);
        var masked = await found.Locator("td").First.InnerTextAsync();
        masked.ShouldContain("*");
        masked.ShouldNotContain(user.Phone);
        await ConsoleBrowser.ScreenshotAsync(page, "operator.users.zh-CN");
        await SubmitAsync(found.GetByRole(AriaRole.Link));
        (await page.Locator("#user").InnerTextAsync()).ShouldNotContain(user.Phone);
        await ConsoleBrowser.ScreenshotAsync(page, "operator.user.zh-CN");
        await SubmitAsync(page.Locator("#reveal-form button"));
        (await page.Locator("[data-field=phone]").InnerTextAsync()).ShouldEndWith(user.Phone);
        var audit = await owner.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"/admin/v1/audit?actor={op.Id}&target={user.UserId}");
        audit!["items"]!.AsArray().ShouldContain(e => e!["action"]!.GetValue<string>() == "GET /admin/v1/users/{id}");

        await page.GotoAsync($"/operator/users/{user.UserId}");
        await page.Locator("#hold-form input[name=amount]").FillAsync("1.234");
        await page.Locator("#hold-form input[name=reason]").FillAsync("法院协助冻结");
        await page.Locator("#hold-form input[name=reference]").FillAsync("(2026)京01执1号");
        await SubmitAsync(page.Locator("#hold-form button"));
        (await ErrorAsync(page))!.Value.Code.ShouldBe("invalid_amount");
        await page.Locator("#freeze-form input[name=reason]").FillAsync("案件复核");
        await SubmitAsync(page.Locator("#freeze-form button"));
        (await page.Locator("[data-field=status]").InnerTextAsync()).ShouldStartWith("已冻结");
        await page.GotoAsync($"/operator/users/{user.UserId}?lang=en");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.user.en");
        await page.GotoAsync($"/operator/users?phone={user.Phone}");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.users.en");

        // The KPIs count the new registration (the rollups are at most seconds behind).
        await page.GotoAsync("/operator?lang=en");
        await Poll.UntilAsync(async () =>
        {
            if (long.Parse(await page.Locator("[data-kpi=registrations]").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture) >= 1) return true;
            await page.ReloadAsync();
            return false;
        }, "the registration in the KPIs", 10_000);
        (await ErrorAsync(page)).ShouldBeNull();
    }

    [Fact]
    public async Task TheMerchantReviewQueueApprovesAndRejectsWithAReason()
    {
        using var http = browser.Server.CreateClient();
        var first = await MerchantAccounts.SignupAsync(http, ConsoleBrowser.OperatorKey, relaxed: true);
        var second = await MerchantAccounts.SignupAsync(http, ConsoleBrowser.OperatorKey, relaxed: true);
        var risk = await EnrolAsync(browser, "risk");
        var page = await browser.NewPageAsync("en");
        await LoginAsync(page, risk);
        (await ErrorAsync(page))!.Value.Code.ShouldBe("forbidden");

        await page.GotoAsync("/operator/merchants");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.merchants.en");
        await SubmitAsync(page.Locator($"tr[data-merchant='{first.MerchantId}'] form.approve button"));
        (await page.Locator("p.done").CountAsync()).ShouldBe(1);
        (await page.Locator($"tr[data-merchant='{first.MerchantId}']").CountAsync()).ShouldBe(0);

        // A reject without a reason: the API's refusal, nothing changes.
        var secondRow = page.Locator($"tr[data-merchant='{second.MerchantId}']");
        await SubmitAsync(secondRow.Locator("form.reject button"));
        (await ErrorAsync(page))!.Value.Code.ShouldBe("invalid_reason");
        await secondRow.Locator("form.reject input[name=reason]").FillAsync("licence photo unreadable");
        await SubmitAsync(secondRow.Locator("form.reject button"));
        (await page.Locator("p.done").CountAsync()).ShouldBe(1);
        await page.GotoAsync("/operator/merchants?status=rejected&lang=zh-CN");
        (await page.Locator($"tr[data-merchant='{second.MerchantId}']").InnerTextAsync()).ShouldContain("licence photo unreadable");
        await page.GotoAsync("/operator/merchants?status=verified");
        (await page.Locator($"tr[data-merchant='{first.MerchantId}']").CountAsync()).ShouldBe(1);
        await page.GotoAsync("/operator/merchants");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.merchants.zh-CN");
    }
}
