using System.Net.Http.Json;
using Microsoft.Playwright;
using static Qianbao.Server.Tests.Consoles.PageChecks;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Operators;

namespace Qianbao.Server.Tests.Consoles.Merchant;

/// <summary>
/// The merchant console (<c>/merchant</c>) in a real browser on a real server: a shop signs up through the page, an operator
/// approves it (the admin API, as the operator console would), the shop logs in with its authenticator code, shows its
/// collection code, a buyer pays it (the wallet API, as the wallet app would), the shop finds the trade, refunds part of it
/// through the page (a double submit refunds once) and sees the day's analytics and statement match. Refusals show the
/// API's error in the page's language, never a 5xx. Screenshots of each main page in both languages.
/// </summary>
public sealed partial class MerchantConsoleTests(ConsoleBrowser browser) : IClassFixture<ConsoleBrowser>
{
    private const string Password = "a long shop password";

    private HttpClient NewApi() => browser.Server.CreateClient();

    [Fact]
    public async Task A_shop_signs_up_is_approved_shows_its_code_is_paid_refunds_and_sees_the_days_figures()
    {
        using var api = NewApi();
        var page = await browser.NewPageAsync("zh-CN");
        var phone = SecureUser.NewPhone();
        var email = MerchantAccounts.NewEmail();

        // Sign-up: the SMS code of purpose merchant_signup through the page, then the form.
        await OkAsync(page.GotoAsync("/merchant/signup"));
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("商户入驻");
        await AllInputsLabelledAsync(page);
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.signup.zh-CN");
        await page.Locator("form[action*=SendCode] input[name=ContactPhone]").FillAsync(phone);
        await page.Locator("form[action*=SendCode] button").ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("验证码已发送，请查看短信。");
        var code = await SandboxSms.LatestCodeAsync(api, ConsoleBrowser.OperatorKey, phone);
        (await page.Locator("input[name=VerificationId]").InputValueAsync()).ShouldNotBeNullOrEmpty();
        (await page.Locator("form[action='/merchant/signup'] input[name=ContactPhone]").InputValueAsync()).ShouldBe(phone);

        // A bad credit code: the API's 400 shown in Chinese, nothing created, the typed values kept.
        await FillSignupAsync(page, "91110000802100433A", code, email);
        await OkAsync(NavigatingAsync(page, () => page.Locator("form[action='/merchant/signup'] button[type=submit]").ClickAsync()));
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_credit_code");
        (await page.Locator("p.error").InnerTextAsync()).ShouldContain("统一社会信用代码无效");
        (await page.Locator("input[name=CompanyName]").InputValueAsync()).ShouldBe("小明便利店");

        await FillSignupAsync(page, CreditCodes.New(), code, email);
        await page.Locator("form[action='/merchant/signup'] button[type=submit]").ClickAsync();
        var merchantId = Guid.Parse(await page.Locator("[data-merchant-id]").InnerTextAsync());
        (await page.Locator("[data-status]").GetAttributeAsync("data-status")).ShouldBe("pending");
        var secret = await page.Locator("[data-totp-secret]").InnerTextAsync();
        (await page.Locator("[data-otpauth-uri]").InnerTextAsync()).ShouldStartWith("otpauth://totp/");
        (await page.Locator("section[data-signup] img.code").EvaluateAsync<int>("img => img.naturalWidth")).ShouldBeGreaterThan(100);
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.signup-done.zh-CN");

        // Log in with e-mail, password and the authenticator's code; the status is pending, no collection code yet.
        await page.GotoAsync("/merchant");
        page.Url.ShouldContain("/merchant/login");
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.login.zh-CN");
        await LoginAsync(page, email, OperatorSupport.Code(secret, DateTimeOffset.UtcNow));
        new Uri(page.Url).AbsolutePath.ShouldBe("/merchant");
        (await page.Locator("[data-merchant-status]").GetAttributeAsync("data-merchant-status")).ShouldBe("pending");
        await page.GotoAsync("/merchant/collection-code");
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("not_verified");

        // An operator approves the shop (what the operator console does).
        await MerchantAccounts.ApproveAsync(api, ConsoleBrowser.OperatorKey, merchantId);
        await page.GotoAsync("/merchant");
        (await page.Locator("[data-merchant-status]").GetAttributeAsync("data-merchant-status")).ShouldBe("verified");
        await page.GotoAsync("/merchant/collection-code");
        var collectionCode = await page.Locator("[data-collection-code]").GetAttributeAsync("data-collection-code");
        collectionCode!.Length.ShouldBe(24);
        (await page.Locator("[data-qr-text]").InnerTextAsync()).ShouldEndWith("/c/" + collectionCode);
        (await page.Locator("[data-collection-code] img.code").EvaluateAsync<int>("img => img.naturalWidth")).ShouldBeGreaterThan(100);
        // Printing keeps the code and drops the frame and the print button.
        await page.EmulateMediaAsync(new() { Media = Media.Print });
        (await page.Locator("header.top").IsVisibleAsync()).ShouldBeFalse();
        (await page.Locator("button[onclick]").IsVisibleAsync()).ShouldBeFalse();
        (await page.Locator("[data-collection-code] img.code").IsVisibleAsync()).ShouldBeTrue();
        await page.EmulateMediaAsync(new() { Media = Media.Screen });

        // A buyer scans it in the wallet and pays ¥12.34 (the wallet API).
        var buyer = await WalletClient.RegisterAsync(api, "张三");
        await buyer.TopUpAsync(10_000);
        var paid = await buyer.PostAsync($"/v1/collection-codes/{collectionCode}/pay", new { amount = 1_234 });
        paid.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        var tradeNo = (await paid.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["trade_no"]!.GetValue<string>();

        // The shop finds it (status filter), opens it and refunds ¥2.34 through the page.
        await page.GotoAsync("/merchant/trades?status=TRADE_SUCCESS");
        (await page.Locator($"tr[data-trade-no='{tradeNo}'] td.num").First.InnerTextAsync()).ShouldBe("¥12.34");
        await page.GotoAsync("/merchant/trades?status=TRADE_CLOSED");
        (await page.Locator("[data-empty]").CountAsync()).ShouldBe(1);
        await page.GotoAsync("/merchant/trades");
        await page.Locator($"tr[data-trade-no='{tradeNo}'] a").ClickAsync();
        (await page.Locator("[data-trade]").GetAttributeAsync("data-trade")).ShouldBe(tradeNo);

        // Refusals: an amount that is not yuan (the page's), more than was paid (the API's 422) — nothing refunded.
        await RefundAsync(page, "12.345", "");
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_amount");
        await RefundAsync(page, "99", "");
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("refund_exceeds_paid");
        (await page.Locator("[data-field=refunded]").InnerTextAsync()).ShouldBe("¥0.00");

        // The refund, submitted twice (the same form, the same Idempotency-Key): it happens once.
        var form = page.Locator("form:has(input[name=IdempotencyKey])");
        var key = await form.Locator("input[name=IdempotencyKey]").InputValueAsync();
        var antiforgery = await form.Locator("input[name=__RequestVerificationToken]").InputValueAsync();
        await RefundAsync(page, "2.34", "找零");
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("退款成功。");
        var again = page.APIRequest.CreateFormData();
        again.Set("IdempotencyKey", key);
        again.Set("Amount", "2.34");
        again.Set("Reason", "找零");
        again.Set("__RequestVerificationToken", antiforgery);
        var resubmitted = await page.APIRequest.PostAsync($"/merchant/trades/{tradeNo}", new() { Form = again, MaxRedirects = 0 });
        resubmitted.Status.ShouldBe(302, await resubmitted.TextAsync());
        await page.ReloadAsync();
        (await page.Locator("[data-field=refunded]").InnerTextAsync()).ShouldBe("¥2.34");
        (await page.Locator("table[data-refunds] tbody tr").CountAsync()).ShouldBe(1);
        (await buyer.AvailableAsync()).ShouldBe(10_000 - 1_000);

        // The day's analytics (rollups follow the events within seconds) and statement match what was paid and refunded.
        await Poll.UntilAsync(async () =>
        {
            await page.GotoAsync("/merchant/dashboard");
            return await page.Locator("[data-kpi=refunds] strong").InnerTextAsync() == "1 · ¥2.34";
        }, "the analytics to show the refund");
        (await page.Locator("[data-kpi=gmv] strong").InnerTextAsync()).ShouldBe("¥12.34");
        (await page.Locator("[data-kpi=orders] strong").InnerTextAsync()).ShouldBe("1");
        (await page.Locator("[data-kpi=aov] strong").InnerTextAsync()).ShouldBe("¥12.34");
        (await page.Locator("[data-kpi=net] strong").InnerTextAsync()).ShouldBe("¥10.00");
        (await page.Locator("[data-kpi=payers] strong").InnerTextAsync()).ShouldBe("1");
        (await page.Locator("svg.chart rect.bar").CountAsync()).ShouldBe(7);
        (await page.Locator("svg.chart rect.bar title").AllTextContentsAsync()).ShouldContain(t => t.EndsWith(": ¥12.34", StringComparison.Ordinal));
        (await page.Locator("svg.chart rect.heat").CountAsync()).ShouldBe(7 * 24);
        await page.GotoAsync("/merchant/settlements");
        (await page.Locator("[data-kpi=payments] strong").InnerTextAsync()).ShouldBe("¥12.34");
        (await page.Locator("[data-kpi=refunds] strong").InnerTextAsync()).ShouldBe("¥2.34");
        (await page.Locator("[data-kpi=net] strong").InnerTextAsync()).ShouldBe("¥9.94", "¥10.00 kept less the 60 bps fee on it");

        // Staff: the admin adds a cashier.
        await page.GotoAsync("/merchant/staff");
        var cashier = MerchantAccounts.NewEmail();
        await page.Locator("input[name=Email]").FillAsync(cashier);
        await page.Locator("input[name=Password]").FillAsync(Password);
        await page.Locator("select[name=Role]").SelectOptionAsync("cashier");
        await page.Locator("form:has(select[name=Role]) button[type=submit]").ClickAsync();
        (await page.Locator($"tr[data-staff-email='{cashier}'] button").CountAsync()).ShouldBe(1);
        (await page.Locator($"tr[data-staff-email='{email}'] button").CountAsync()).ShouldBe(0, "an admin cannot disable themselves");

        // The cashier (no authenticator) sees the trade, but a refund above the cashier's limit is the API's 403, shown;
        // the staff page is the admin's (403 too), and neither signs the cashier out.
        var till = await browser.NewPageAsync("zh-CN");
        await till.GotoAsync($"/merchant/trades/{tradeNo}");
        await till.Locator("input[name=email]").FillAsync(cashier);
        await till.Locator("input[name=password]").FillAsync(Password);
        await NavigatingAsync(till, () => till.Locator("main button[type=submit]").ClickAsync(),
            new() { UrlFunc = url => !url.Contains("/login", StringComparison.Ordinal) });
        (await till.Locator("[data-trade]").GetAttributeAsync("data-trade")).ShouldBe(tradeNo);
        await RefundAsync(till, "600", "");
        (await till.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("cashier_refund_limit");
        (await till.Locator("[data-field=refunded]").InnerTextAsync()).ShouldBe("¥2.34");
        await OkAsync(till.GotoAsync("/merchant/staff"));
        (await till.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("forbidden");
        (await till.Locator("input[name=Email]").CountAsync()).ShouldBe(0);
        await ConsoleBrowser.ScreenshotAsync(till, "merchant.cashier-forbidden.zh-CN");

        // A second payment: the trades page by one a page follows the API's cursor, newest first, to the end.
        var second = await buyer.PostAsync($"/v1/collection-codes/{collectionCode}/pay", new { amount = 100 });
        second.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK, await second.Content.ReadAsStringAsync());
        await page.GotoAsync("/merchant/trades?limit=1");
        (await page.Locator("table[data-trades] tbody tr").CountAsync()).ShouldBe(1);
        (await page.Locator("table[data-trades] tbody tr td.num").First.InnerTextAsync()).ShouldBe("¥1.00");
        await page.Locator("a[rel=next]").ClickAsync();
        await page.WaitForURLAsync(url => url.Contains("cursor=", StringComparison.Ordinal));
        (await page.Locator($"tr[data-trade-no='{tradeNo}']").CountAsync()).ShouldBe(1);
        (await page.Locator("a[rel=next]").CountAsync()).ShouldBe(0);
        // By the hour: one bar per hour of the day.
        var today = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        await OkAsync(page.GotoAsync($"/merchant/dashboard?from={today}&to={today}&granularity=hour"));
        (await page.Locator("svg.chart rect.bar").CountAsync()).ShouldBe(24);

        // Bad filters: the API's 400 in English (its own words), no 5xx.
        await OkAsync(page.GotoAsync("/merchant/dashboard?from=2026-13-01&to=2026-12-01&lang=en"));
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_date");
        (await page.Locator("p.error").InnerTextAsync()).ShouldContain("YYYY-MM-DD");
        await OkAsync(page.GotoAsync("/merchant/trades?status=PAID"));
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_status");
        await OkAsync(page.GotoAsync("/merchant/settlements?date=yesterday"));
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_date");
        var missing = await page.GotoAsync("/merchant/trades/NOSUCHTRADE");
        missing!.Status.ShouldBe(404);
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("not_found");

        // Each main page in both languages.
        foreach (var language in new[] { "zh-CN", "en" })
        {
            foreach (var (path, name) in new[]
                     {
                         ("/merchant", "home"), ("/merchant/dashboard", "dashboard"), ("/merchant/trades", "trades"), ($"/merchant/trades/{tradeNo}", "trade"),
                         ("/merchant/collection-code", "collection-code"), ("/merchant/settlements", "settlements"), ("/merchant/staff", "staff"),
                     })
            {
                await OkAsync(page.GotoAsync(path + "?lang=" + language));
                (await page.Locator("html").GetAttributeAsync("lang")).ShouldBe(language);
                (await page.Locator("p.error").CountAsync()).ShouldBe(0, $"{path} in {language}");
                await AllInputsLabelledAsync(page);
                await ConsoleBrowser.ScreenshotAsync(page, $"merchant.{name}.{language}");
            }
        }
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("Staff");

        // The money that moved (top-up, two payments, a refund) keeps the ledger whole.
        using (var check = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/ledger/check"))
        {
            check.Headers.Authorization = new("Bearer", ConsoleBrowser.OperatorKey);
            using var checkResponse = await api.SendAsync(check);
            var checkBody = await checkResponse.Content.ReadAsStringAsync();
            checkResponse.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK, checkBody);
            System.Text.Json.Nodes.JsonNode.Parse(checkBody)!["ok"]!.GetValue<bool>().ShouldBeTrue(checkBody);
        }

        // Sign out: the pages ask for a login again.
        await page.GotoAsync("/merchant/logout");
        await page.Locator("main form button[type=submit]").ClickAsync();
        await page.GotoAsync("/merchant/trades");
        page.Url.ShouldContain("/merchant/login");
    }

    [Fact]
    public async Task A_rejected_shop_sees_the_reason_and_the_signed_out_pages_speak_english()
    {
        using var api = NewApi();
        var login = await MerchantAccounts.SignupAsync(api, ConsoleBrowser.OperatorKey, relaxed: true);
        using (var reject = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/merchants/{login.MerchantId}/reject"))
        {
            reject.Headers.Authorization = new("Bearer", ConsoleBrowser.OperatorKey);
            reject.Content = JsonContent.Create(new { reason = "营业执照照片不清晰" });
            (await api.SendAsync(reject)).EnsureSuccessStatusCode();
        }
        var page = await browser.NewPageAsync("en", ConsoleBrowser.Phone);
        await OkAsync(page.GotoAsync("/merchant/signup"));
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("Merchant sign-up");
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.signup.en");
        await OkAsync(page.GotoAsync("/merchant/login"));
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.login.en");

        // A wrong password: the API's 401 in English, still on the login page.
        await page.Locator("input[name=email]").FillAsync(login.Email);
        await page.Locator("input[name=password]").FillAsync("not the password at all");
        await OkAsync(NavigatingAsync(page, () => page.Locator("main button[type=submit]").ClickAsync()));
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_credentials");
        (await page.Locator("p.error").InnerTextAsync()).ShouldContain("E-mail, password or TOTP code is wrong.");

        await LoginAsync(page, login.Email, OperatorSupport.Code(login.TotpSecret!, DateTimeOffset.UtcNow), login.Password);
        (await page.Locator("[data-merchant-status]").GetAttributeAsync("data-merchant-status")).ShouldBe("rejected");
        (await page.Locator("[data-rejected-reason]").InnerTextAsync()).ShouldBe("营业执照照片不清晰");
        (await page.Locator("main strong").First.InnerTextAsync()).ShouldBe("Rejected");
        // Usable on a phone: nothing wider than the screen.
        (await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth")).ShouldBeLessThanOrEqualTo(390);
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.rejected.en");
    }

    private static async Task FillSignupAsync(IPage page, string creditCode, string code, string email)
    {
        await page.Locator("input[name=CompanyName]").FillAsync("小明便利店");
        await page.Locator("input[name=CreditCode]").FillAsync(creditCode);
        await page.Locator("input[name=LegalPersonName]").FillAsync("王小明");
        await page.Locator("input[name=LegalPersonIdNumber]").FillAsync(SecureUser.NewIdNumber());
        await page.Locator("input[name=Code]").FillAsync(code);
        await page.Locator("input[name=Email]").FillAsync(email);
        await page.Locator("input[name=Password]").FillAsync(Password);
    }

    private static async Task LoginAsync(IPage page, string email, string totp, string password = Password)
    {
        await page.Locator("input[name=email]").FillAsync(email);
        await page.Locator("input[name=password]").FillAsync(password);
        await page.Locator("input[name=totp]").FillAsync(totp);
        await NavigatingAsync(page, () => page.Locator("main button[type=submit]").ClickAsync(),
            new() { UrlFunc = url => !url.Contains("/login", StringComparison.Ordinal) });
    }

    private static async Task RefundAsync(IPage page, string amount, string reason)
    {
        var form = page.Locator("form:has(input[name=IdempotencyKey])");
        await form.Locator("input[name=Amount]").FillAsync(amount);
        await form.Locator("input[name=Reason]").FillAsync(reason);
        await OkAsync(NavigatingAsync(page, () => form.Locator("button[type=submit]").ClickAsync()));
    }
}
