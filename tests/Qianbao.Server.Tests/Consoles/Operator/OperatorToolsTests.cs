using Microsoft.Playwright;
using static Qianbao.Server.Tests.Consoles.Operator.OperatorConsoleSupport;

namespace Qianbao.Server.Tests.Consoles.Operator;

/// <summary>
/// The owner's tools through the pages (signed in with the operator key): ledger check, audit log and its verification,
/// operators (invite, disable), templates, complaints, campaigns and messaging results; refusals shown, never a 5xx.
/// </summary>
public sealed class OperatorToolsTests(ConsoleBrowser browser) : IClassFixture<ConsoleBrowser>
{
    [Fact]
    public async Task TheOwnerChecksTheLedgerAndTheAuditLogAndManagesOperatorsAndTemplates()
    {
        var page = await browser.NewPageAsync("en");
        await LoginWithKeyAsync(page);

        await page.GotoAsync("/operator/ledger");
        (await page.Locator("#ledger-result").GetAttributeAsync("data-ok")).ShouldBe("true");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.ledger.en");

        // Operators: a bad e-mail is the API's refusal; a good one shows the one-time invitation token.
        await page.GotoAsync("/operator/operators");
        await page.Locator("#invite-form input[name=email]").FillAsync("not-an-email@");
        await page.Locator("#invite-form input[name=email]").EvaluateAsync("e => e.type = 'text'");
        await page.Locator("#invite-form input[name=name]").FillAsync("Wang");
        await SubmitAsync(page.Locator("#invite-form button"));
        (await ErrorAsync(page))!.Value.Code.ShouldBe("invalid_email");
        var email = $"console-{Guid.NewGuid():N}"[..20] + "@qianbao.example";
        await page.Locator("#invite-form input[name=email]").FillAsync(email);
        await page.Locator("#invite-form input[name=name]").FillAsync("Wang");
        await page.Locator("#invite-form select[name=role]").SelectOptionAsync("support");
        await SubmitAsync(page.Locator("#invite-form button"));
        (await page.Locator("#invitation input").InputValueAsync()).Length.ShouldBeGreaterThan(20);
        var row = page.Locator("#operators tr", new() { HasText = email });
        (await row.InnerTextAsync()).ShouldContain("Invited");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.operators.en");
        await SubmitAsync(row.Locator("button"));
        (await page.Locator("#operators tr", new() { HasText = email }).InnerTextAsync()).ShouldContain("Disabled");

        // The audit log has the invitation; its chain verifies.
        await page.GotoAsync("/operator/audit?verify=1");
        (await page.Locator("#audit-verified").GetAttributeAsync("data-ok")).ShouldBe("true");
        (await page.Locator("#audit").InnerTextAsync()).ShouldContain("POST /admin/v1/operators");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.audit.en");

        // Templates: a variable the type does not carry is refused by the API, nothing saved.
        await page.GotoAsync("/operator/templates");
        var templateType = await FirstTemplateTypeAsync(page);
        await SubmitAsync(page.Locator("#template-find button"));
        var body = page.Locator("#template-form textarea[name=body]");
        var original = await body.InputValueAsync();
        await body.FillAsync("{{ no_such_variable }}");
        await SubmitAsync(page.Locator("#template-form button"));
        (await ErrorAsync(page))!.Value.Code.ShouldBe("unknown_template_variable");
        (await body.InputValueAsync()).ShouldBe(original);
        await ConsoleBrowser.ScreenshotAsync(page, "operator.templates.en");

        await page.GotoAsync("/operator/complaints");
        (await ErrorAsync(page)).ShouldBeNull();
        await ConsoleBrowser.ScreenshotAsync(page, "operator.complaints.en");
        await page.GotoAsync("/operator/campaigns");
        (await ErrorAsync(page)).ShouldBeNull();
        await ConsoleBrowser.ScreenshotAsync(page, "operator.campaigns.en");
        var response = await page.GotoAsync("/operator/messaging?id=not-a-campaign");
        response!.Status.ShouldBeLessThan(500);
        (await ErrorAsync(page))!.Value.Code.ShouldBe("not_found");
        await ConsoleBrowser.ScreenshotAsync(page, "operator.messaging.en");

        // The same pages in Chinese.
        foreach (var name in new[] { "ledger", "operators", "audit", "templates", "complaints", "campaigns", "messaging" })
        {
            response = await page.GotoAsync($"/operator/{name}?lang=zh-CN" + (name == "templates" ? "&type=" + templateType + "&locale=zh-CN" : ""));
            response!.Status.ShouldBe(200);
            (await page.Locator("html").GetAttributeAsync("lang")).ShouldBe("zh-CN");
            await ConsoleBrowser.ScreenshotAsync(page, $"operator.{name}.zh-CN");
        }
    }

    private static async Task<string> FirstTemplateTypeAsync(IPage page) =>
        (await page.Locator("#template-find select[name=type] option").First.GetAttributeAsync("value"))!;
}
