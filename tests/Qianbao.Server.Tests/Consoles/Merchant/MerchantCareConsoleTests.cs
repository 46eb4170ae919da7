using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Qianbao.Server.Tests.Consoles.PageChecks;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Operators;

namespace Qianbao.Server.Tests.Consoles.Merchant;

/// <summary>
/// The merchant console's customer care in a real browser on a real server: a buyer pays the shop and complains about the
/// trade (the wallet API, as the wallet app would), the shop reads the complaint and replies in the page, and the buyer
/// reads the reply as the shop's (the API); the buyer follows the shop, the shop sends a service message from the page
/// (a double submit sends once) and the buyer's inbox has it. Refusals are pages, never 5xx. Screenshots in both languages.
/// </summary>
public sealed class MerchantCareConsoleTests(ConsoleBrowser browser) : IClassFixture<ConsoleBrowser>
{
    [Fact]
    public async Task A_shop_answers_a_complaint_and_messages_a_follower_from_its_pages()
    {
        using var api = browser.Server.CreateClient();
        var shop = await MerchantAccounts.SignupAsync(api, ConsoleBrowser.OperatorKey, relaxed: true);
        await MerchantAccounts.ApproveAsync(api, ConsoleBrowser.OperatorKey, shop.MerchantId);
        var page = await browser.NewPageAsync("zh-CN");
        await page.GotoAsync("/merchant/complaints");
        page.Url.ShouldContain("/merchant/login");
        await page.Locator("input[name=email]").FillAsync(shop.Email);
        await page.Locator("input[name=password]").FillAsync(shop.Password);
        await page.Locator("input[name=totp]").FillAsync(OperatorSupport.Code(shop.TotpSecret!, DateTimeOffset.UtcNow));
        await NavigatingAsync(page, () => page.Locator("main button[type=submit]").ClickAsync(),
            new() { UrlFunc = url => !url.Contains("/login", StringComparison.Ordinal) });
        new Uri(page.Url).AbsolutePath.ShouldBe("/merchant/complaints");
        (await page.Locator("[data-empty]").CountAsync()).ShouldBe(1);
        await page.GotoAsync("/merchant/collection-code");
        var collectionCode = await page.Locator("[data-collection-code]").GetAttributeAsync("data-collection-code");

        // A buyer pays ¥8.80 and complains about it (the wallet API).
        var buyer = await WalletClient.RegisterAsync(api, "赵敏");
        await buyer.TopUpAsync(10_000);
        var paid = await buyer.PostAsync($"/v1/collection-codes/{collectionCode}/pay", new { amount = 880 });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        var tradeNo = (await paid.Content.ReadFromJsonAsync<JsonObject>())!["trade_no"]!.GetValue<string>();
        var complained = await buyer.PostAsync("/v1/complaints", new { trade_no = tradeNo, category = "merchant_service", text = "店员态度不好" });
        complained.StatusCode.ShouldBe(HttpStatusCode.Created, await complained.Content.ReadAsStringAsync());
        var complaintId = (await complained.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

        // The shop finds it (masked customer, status filter), opens it and replies.
        await OkAsync(page.GotoAsync("/merchant/complaints?status=open"));
        var row = page.Locator($"tr[data-complaint-id='{complaintId}']");
        (await row.Locator("td").Nth(1).InnerTextAsync()).ShouldBe("*敏");
        (await row.Locator("td").Nth(2).InnerTextAsync()).ShouldBe("商家服务");
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.complaints.zh-CN");
        await page.GotoAsync("/merchant/complaints?status=rejected");
        (await page.Locator("[data-empty]").CountAsync()).ShouldBe(1);
        await page.GotoAsync("/merchant/complaints");
        await page.Locator($"tr[data-complaint-id='{complaintId}'] a").First.ClickAsync();
        await page.WaitForURLAsync(url => url.Contains(complaintId, StringComparison.Ordinal));
        (await page.Locator("[data-field=text]").InnerTextAsync()).ShouldBe("店员态度不好");
        await AllInputsLabelledAsync(page);
        // A blank reply is the API's 400, shown in the page's language; nothing sent.
        await page.Locator("textarea[name=Text]").FillAsync("   ");
        await OkAsync(NavigatingAsync(page, () => page.Locator("main form button[type=submit]").ClickAsync()));
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_text");
        (await page.Locator("[data-replies]").CountAsync()).ShouldBe(0);
        await page.Locator("textarea[name=Text]").FillAsync("非常抱歉，我们已批评教育店员，欢迎再次光临");
        await OkAsync(NavigatingAsync(page, () => page.Locator("main form button[type=submit]").ClickAsync()));
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("回复已发送，用户可在投诉详情中看到。");
        (await page.Locator("[data-replies] li[data-from=merchant]").CountAsync()).ShouldBe(1);
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.complaint.zh-CN");

        // The buyer reads it as the shop's.
        var mine = (await (await buyer.GetAsync($"/v1/complaints/{complaintId}")).Content.ReadFromJsonAsync<JsonObject>())!;
        var reply = mine["replies"]!.AsArray().Single()!;
        reply["from"]!.GetValue<string>().ShouldBe("merchant");
        reply["text"]!.GetValue<string>().ShouldBe("非常抱歉，我们已批评教育店员，欢迎再次光临");

        // Support resolves it: the page shows it closed, without the form.
        using (var resolve = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/complaints/{complaintId}/resolve"))
        {
            resolve.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ConsoleBrowser.OperatorKey);
            resolve.Content = JsonContent.Create(new { decision = "reject", note = "商家已道歉" });
            (await api.SendAsync(resolve)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        await page.ReloadAsync();
        (await page.Locator("[data-closed]").CountAsync()).ShouldBe(1);
        (await page.Locator("textarea[name=Text]").CountAsync()).ShouldBe(0);

        // The buyer follows the shop (quiet hours off, so the message shows now whatever the hour).
        (await buyer.PostAsync($"/v1/merchants/{shop.MerchantId}/follow", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await QuietHoursOffAsync(buyer);
        await OkAsync(page.GotoAsync("/merchant/followers"));
        (await page.Locator("[data-follower-count]").InnerTextAsync()).ShouldBe("1");
        (await page.Locator($"tr[data-user-id='{buyer.UserId}'] td").First.InnerTextAsync()).ShouldBe("*敏");
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.followers.zh-CN");
        await page.Locator($"tr[data-user-id='{buyer.UserId}'] a").ClickAsync();
        await page.WaitForURLAsync(url => url.Contains(buyer.UserId.ToString(), StringComparison.Ordinal));
        (await page.Locator("[data-follower-name]").InnerTextAsync()).ShouldBe("*敏");
        await AllInputsLabelledAsync(page);
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.follower-message.zh-CN");
        var form = page.Locator("main form:has(input[name=IdempotencyKey])");
        var key = await form.Locator("input[name=IdempotencyKey]").InputValueAsync();
        var antiforgery = await form.Locator("input[name=__RequestVerificationToken]").InputValueAsync();
        await form.Locator("input[name=Title]").FillAsync("会员日");
        await form.Locator("textarea[name=Body]").FillAsync("本周六全场八折");
        await OkAsync(NavigatingAsync(page, () => form.Locator("button[type=submit]").ClickAsync()));
        new Uri(page.Url).AbsolutePath.ShouldBe("/merchant/followers");
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("消息已发送。");
        // The same form again (the same key): sent once.
        var again = page.APIRequest.CreateFormData();
        again.Set("IdempotencyKey", key);
        again.Set("Title", "会员日");
        again.Set("Body", "本周六全场八折");
        again.Set("__RequestVerificationToken", antiforgery);
        var resubmitted = await page.APIRequest.PostAsync($"/merchant/followers/{buyer.UserId}", new() { Form = again, MaxRedirects = 0 });
        resubmitted.Status.ShouldBe(302, await resubmitted.TextAsync());
        var inbox = (await (await buyer.GetAsync("/v1/notifications?limit=100")).Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray()
            .Where(i => i!["title"]!.GetValue<string>() == "会员日").ToList();
        inbox.Count.ShouldBe(1);
        inbox[0]!["category"]!.GetValue<string>().ShouldBe("service");
        inbox[0]!["body"]!.GetValue<string>().ShouldBe("本周六全场八折");

        // Refusals are pages: a stranger (not a follower) is the API's 404; bad filters the API's 400; no 5xx.
        var stranger = await browser.NewPageAsync("en");
        var missing = await page.GotoAsync($"/merchant/followers/{Guid.NewGuid()}");
        missing!.Status.ShouldBeLessThan(500);
        await page.Locator("input[name=Title]").FillAsync("x");
        await page.Locator("textarea[name=Body]").FillAsync("y");
        var refused = await NavigatingAsync(page, () => page.Locator("main form button[type=submit]").ClickAsync());
        refused!.Status.ShouldBe(404);
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("not_found");
        (await page.Locator("input[name=Title]").InputValueAsync()).ShouldBe("x");
        await OkAsync(page.GotoAsync("/merchant/complaints?status=angry"));
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_status");
        (await page.GotoAsync("/merchant/complaints/nope"))!.Status.ShouldBe(404);
        (await page.GotoAsync("/merchant/followers?cursor=zz"))!.Status.ShouldBeLessThan(500);
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_cursor");
        await stranger.GotoAsync("/merchant/followers");
        stranger.Url.ShouldContain("/merchant/login");

        // Each page in both languages.
        foreach (var language in new[] { "zh-CN", "en" })
        {
            foreach (var (path, name) in new[]
                     {
                         ("/merchant/complaints", "complaints"), ($"/merchant/complaints/{complaintId}", "complaint"), ("/merchant/followers", "followers"),
                         ($"/merchant/followers/{buyer.UserId}?name=%2A%E6%95%8F", "follower-message"),
                     })
            {
                await OkAsync(page.GotoAsync(path + (path.Contains('?') ? "&" : "?") + "lang=" + language));
                (await page.Locator("html").GetAttributeAsync("lang")).ShouldBe(language);
                (await page.Locator("p.error").CountAsync()).ShouldBe(0, $"{path} in {language}");
                await AllInputsLabelledAsync(page);
                await ConsoleBrowser.ScreenshotAsync(page, $"merchant.{name}.{language}");
            }
        }
        (await page.Locator("nav a[href='/merchant/complaints']").InnerTextAsync()).ShouldBe("Complaints");
        (await page.Locator("nav a[href='/merchant/followers']").InnerTextAsync()).ShouldBe("Followers");
    }

    private static async Task QuietHoursOffAsync(WalletClient user)
    {
        var document = new
        {
            categories = new Dictionary<string, object>
            {
                ["security"] = new { in_app = true, sms = true, email = true }, ["transaction"] = new { in_app = true, sms = false, email = false },
                ["marketing"] = new { in_app = false, sms = false, email = false }, ["service"] = new { in_app = true, sms = false, email = false },
            },
            quiet_hours = new { enabled = false, start = "22:00", end = "08:00" }, time_zone = "Asia/Shanghai", locale = "zh-CN",
        };
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/me/notification-preferences")
        {
            Content = new StringContent(JsonSerializer.Serialize(document), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.Token);
        var response = await user.Http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }
}
