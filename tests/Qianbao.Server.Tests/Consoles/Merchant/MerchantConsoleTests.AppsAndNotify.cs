using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Tests.Gateway.Notifications;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Operators;
using static Qianbao.Server.Tests.Consoles.PageChecks;

namespace Qianbao.Server.Tests.Consoles.Merchant;

/// <summary>
/// The merchant console's apps and keys page and its notification deliveries, on the same server and browser as the other
/// merchant journeys: a verified shop with a gateway app (created by an operator, as today) reads its key fingerprint and the
/// platform key, changes its notify URL through the page (a bad one first: the API's <c>invalid_notify_url</c> in Chinese),
/// takes a gateway payment, sees the notification delivered to the new URL and replays it.
/// </summary>
public sealed partial class MerchantConsoleTests
{
    [Fact]
    public async Task A_shop_changes_its_notify_url_sees_the_delivery_of_a_payment_and_replays_it()
    {
        using var api = NewApi();
        await using var receiver = await NotifyReceiver.StartAsync();
        var login = await MerchantAccounts.SignupAsync(api, ConsoleBrowser.OperatorKey, relaxed: true);
        await MerchantAccounts.ApproveAsync(api, ConsoleBrowser.OperatorKey, login.MerchantId);
        var (appId, platformKey) = await CreateAppAsync(api, login.MerchantId, "http://127.0.0.1:9/old-notify");

        var page = await browser.NewPageAsync("zh-CN");
        await page.GotoAsync("/merchant/apps");
        page.Url.ShouldContain("/merchant/login");
        await LoginAsync(page, login.Email, OperatorSupport.Code(login.TotpSecret!, DateTimeOffset.UtcNow), login.Password);
        new Uri(page.Url).AbsolutePath.ShouldBe("/merchant/apps");
        (await page.Locator("header nav a[href='/merchant/apps']").InnerTextAsync()).ShouldBe("应用与密钥");
        (await page.Locator("header nav a[href='/merchant/notify-deliveries']").CountAsync()).ShouldBe(1);

        // The app, its key's fingerprint and the platform key to copy.
        var app = page.Locator($"section[data-app-id='{appId}']");
        (await app.Locator("[data-field=notify_url]").InnerTextAsync()).ShouldBe("http://127.0.0.1:9/old-notify");
        (await app.Locator("[data-field=fingerprint]").InnerTextAsync())
            .ShouldBe("SHA256:" + Convert.ToHexStringLower(SHA256.HashData(SdkKeys.App.ExportSubjectPublicKeyInfo())));
        (await page.Locator("textarea[data-platform-public-key]").InputValueAsync()).ShouldBe(platformKey);
        (await page.Locator("button[data-copy='#platform-public-key']").IsVisibleAsync()).ShouldBeTrue();
        await AllInputsLabelledAsync(page);

        // A URL the API refuses (not http(s)): its code and its Chinese words, the typed URL kept, nothing changed.
        await app.Locator("input[name=NotifyUrl]").FillAsync("ftp://shop.example/notify");
        await OkAsync(NavigatingAsync(page, () => app.Locator("form[data-form=notify-url] button[type=submit]").ClickAsync()));
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_notify_url");
        (await page.Locator("p.error").InnerTextAsync()).ShouldContain("通知地址无效");
        (await app.Locator("input[name=NotifyUrl]").InputValueAsync()).ShouldBe("ftp://shop.example/notify");
        (await app.Locator("[data-field=notify_url]").InnerTextAsync()).ShouldBe("http://127.0.0.1:9/old-notify");
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.apps-refused.zh-CN");

        // The receiver's URL: saved, shown.
        await app.Locator("input[name=NotifyUrl]").FillAsync(receiver.Url);
        await OkAsync(NavigatingAsync(page, () => app.Locator("form[data-form=notify-url] button[type=submit]").ClickAsync()));
        (await page.Locator("p.error").CountAsync()).ShouldBe(0);
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("已保存。");
        (await app.Locator("[data-field=notify_url]").InnerTextAsync()).ShouldBe(receiver.Url);

        // No deliveries yet; a buyer pays a gateway trade of the app (what the shop's software and the wallet do).
        await OkAsync(page.GotoAsync("/merchant/notify-deliveries"));
        (await page.Locator("[data-empty]").CountAsync()).ShouldBe(1);
        var qr = new GatewayCaller(api, appId, SdkKeys.App, platformKey).CallAsync("alipay.trade.precreate", new
        {
            out_trade_no = "CN-" + Guid.NewGuid().ToString("N"), total_amount = "8.80", subject = "通知测试",
        });
        var qrCode = (await qr).ShouldBe("10000")["qr_code"];
        var buyer = await WalletClient.RegisterAsync(api, "李四");
        await buyer.TopUpAsync(10_000);
        var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qrCode });
        paid.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        var tradeNo = (await paid.Content.ReadFromJsonAsync<JsonObject>())!["trade_no"]!.GetValue<string>();

        // The delivery shows up delivered (the dispatcher sends within moments), to the new URL, once.
        var row = page.Locator($"tr[data-trade-no='{tradeNo}']");
        await Poll.UntilAsync(async () =>
        {
            await page.GotoAsync("/merchant/notify-deliveries?status=delivered");
            return await row.CountAsync() == 1;
        }, "the payment's notification to be delivered");
        (await row.Locator("[data-field=attempts]").InnerTextAsync()).ShouldBe("1");
        (await row.Locator("[data-field=status]").InnerTextAsync()).ShouldContain("已送达");
        (await row.InnerTextAsync()).ShouldContain(receiver.Url);
        receiver.Received.Count.ShouldBe(1);
        var notifyId = receiver.Received[0].Fields["notify_id"];
        await AllInputsLabelledAsync(page);
        await ConsoleBrowser.ScreenshotAsync(page, "merchant.notify-deliveries-delivered.zh-CN");

        // Replay: queued again with its notify_id, sent once more; the filter is kept.
        await OkAsync(NavigatingAsync(page, () => row.Locator("button[type=submit]").ClickAsync()));
        (await page.Locator("p.error").CountAsync()).ShouldBe(0);
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("已重新排队发送。");
        await Poll.UntilAsync(async () =>
        {
            await page.GotoAsync("/merchant/notify-deliveries");
            return await row.Locator("[data-field=attempts]").InnerTextAsync() == "2" && await row.GetAttributeAsync("data-status") == "delivered";
        }, "the replayed notification to be delivered");
        receiver.Received.Count.ShouldBe(2);
        receiver.Received[1].Fields["notify_id"].ShouldBe(notifyId);

        // A bad filter: the API's 400, no 5xx.
        await OkAsync(page.GotoAsync("/merchant/notify-deliveries?status=sent"));
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_status");

        foreach (var language in new[] { "zh-CN", "en" })
        {
            foreach (var (path, name) in new[] { ("/merchant/apps", "apps"), ("/merchant/notify-deliveries", "notify-deliveries") })
            {
                await OkAsync(page.GotoAsync(path + "?lang=" + language));
                (await page.Locator("html").GetAttributeAsync("lang")).ShouldBe(language);
                (await page.Locator("p.error").CountAsync()).ShouldBe(0, $"{path} in {language}");
                await AllInputsLabelledAsync(page);
                await ConsoleBrowser.ScreenshotAsync(page, $"merchant.{name}.{language}");
            }
        }
        (await page.Locator("h1").InnerTextAsync()).ShouldBe("Notification deliveries");
        (await page.Locator($"tr[data-trade-no='{tradeNo}'] button").InnerTextAsync()).ShouldBe("Replay");

        // The app key: one the API refuses (its code in English, the typed text kept), then a fresh one whose fingerprint shows.
        await OkAsync(page.GotoAsync("/merchant/apps?lang=en"));
        await app.Locator("details summary").ClickAsync();
        await app.Locator("textarea[name=PublicKey]").FillAsync("not a key");
        await OkAsync(NavigatingAsync(page, () => app.Locator("form[data-form=public-key] button[type=submit]").ClickAsync()));
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("invalid_public_key");
        (await app.Locator("textarea[name=PublicKey]").InputValueAsync()).ShouldBe("not a key");
        await AllInputsLabelledAsync(page);
        using var fresh = RSA.Create(2048);
        await app.Locator("textarea[name=PublicKey]").FillAsync(fresh.ExportSubjectPublicKeyInfoPem());
        await OkAsync(NavigatingAsync(page, () => app.Locator("form[data-form=public-key] button[type=submit]").ClickAsync()));
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("Saved.");
        (await app.Locator("[data-field=fingerprint]").InnerTextAsync())
            .ShouldBe("SHA256:" + Convert.ToHexStringLower(SHA256.HashData(fresh.ExportSubjectPublicKeyInfo())));
    }

    /// <summary>An operator registers a gateway app for the shop with the shared test app key (as today: the admin API).</summary>
    private static async Task<(string AppId, string PlatformKey)> CreateAppAsync(HttpClient api, Guid merchantId, string notifyUrl)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/merchants/{merchantId}/apps");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ConsoleBrowser.OperatorKey);
        request.Content = JsonContent.Create(new { app_public_key_pem = AlipayKeys.ExportPublicKeyBase64(SdkKeys.App), notify_url = notifyUrl });
        using var response = await api.SendAsync(request);
        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var json = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return (json["app_id"]!.GetValue<string>(), json["platform_public_key"]!.GetValue<string>());
    }
}
