using Microsoft.Playwright;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Consoles.Wallet;

/// <summary>
/// The wallet console's money and settings actions through the pages, on the secure server: a withdrawal from a new
/// device (PIN and the step-up code the API asks), a red packet sent by one person and opened by another, a coupon an
/// operator's campaign offers claimed, left unused on one QR payment by choice and used on the next, and the message settings (marketing on records a
/// consent shown on the page; security alerts stay locked on). Each person's step-up code is their only one within the
/// minute the API allows per purpose, so each step-up action here belongs to a different person, except where that limit is
/// the point: a second step-up within the minute gets no SMS, and the page still takes the authenticator's code.
/// </summary>
[Collection(WalletConsole.Name)]
public sealed class WalletActionsTests(WalletBrowser browser)
{
    [Fact]
    public async Task A_withdrawal_needs_the_step_up_code_and_a_red_packet_sent_by_one_person_is_opened_by_another()
    {
        var sender = await SecureUser.CreateAsync(browser.Http, ConsoleBrowser.OperatorKey, "周杰");
        await sender.TopUpAsync(10_000);
        var friend = await SecureUser.CreateAsync(browser.Http, ConsoleBrowser.OperatorKey, "林青");
        await friend.TopUpAsync(50_000);

        // The friend withdraws ¥120 from a new browser: the PIN, then the step-up code the SMS brings.
        var friendPage = await browser.NewPageAsync("zh-CN", ConsoleBrowser.Phone);
        await browser.LogInAsync(friendPage, friend);
        await friendPage.GotoAsync("/wallet/funds");
        var withdraw = friendPage.Locator("form[data-form=withdraw]");
        await withdraw.GetByLabel("金额（元）").FillAsync("120");
        await withdraw.GetByLabel("支付密码").FillAsync(SecureUser.Pin);
        var seen = await browser.MessageCountAsync(friend.Phone);
        await withdraw.GetByRole(AriaRole.Button, new() { Name = "提现" }).ClickAsync();
        (await friendPage.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("step_up_required");
        // The amount typed stays; the PIN is asked again with the code.
        withdraw = friendPage.Locator("form[data-form=withdraw]");
        (await withdraw.GetByLabel("金额（元）").InputValueAsync()).ShouldBe("120");
        await ConsoleBrowser.ScreenshotAsync(friendPage, "wallet.withdraw-stepup.zh-CN");
        await withdraw.GetByLabel("支付密码").FillAsync(SecureUser.Pin);
        await withdraw.GetByLabel("安全验证码").FillAsync(await browser.NextCodeAsync(friend.Phone, seen));
        await withdraw.GetByRole(AriaRole.Button, new() { Name = "提现" }).ClickAsync();
        (await friendPage.Locator("p.done").InnerTextAsync()).ShouldContain("提现已提交");
        // Held at once: the available balance the home page shows is ¥380.
        (await friend.AvailableAsync()).ShouldBe(38_000);
        await friendPage.GotoAsync("/wallet");
        (await friendPage.Locator("[data-balance]").GetAttributeAsync("data-balance")).ShouldBe("38000");

        // The sender sends ¥8.88 in 2 equal shares, with the step-up code, in English.
        var page = await browser.NewPageAsync("en", ConsoleBrowser.Phone);
        await browser.LogInAsync(page, sender);
        await page.GotoAsync("/wallet/redpackets");
        await page.GetByLabel("Total (yuan)").FillAsync("8.88");
        await page.GetByLabel("Shares", new() { Exact = true }).FillAsync("2");
        await page.Locator("select[name=Split]").SelectOptionAsync("fixed");
        await page.GetByLabel("Message (optional)").FillAsync("新年快乐");
        await page.GetByLabel("Payment PIN").FillAsync(SecureUser.Pin);
        seen = await browser.MessageCountAsync(sender.Phone);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send a red packet" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("step_up_required");
        (await page.GetByLabel("Total (yuan)").InputValueAsync()).ShouldBe("8.88");
        await page.GetByLabel("Payment PIN").FillAsync(SecureUser.Pin);
        await page.GetByLabel("Security code").FillAsync(await browser.NextCodeAsync(sender.Phone, seen));
        await page.GetByRole(AriaRole.Button, new() { Name = "Send a red packet" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("Red packet sent.");
        var code = (await page.Locator("[data-redpacket-code]").InnerTextAsync()).Trim();
        code.ShouldNotBeEmpty();
        (await sender.AvailableAsync()).ShouldBe(10_000 - 888);
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.redpacket-sent.en");

        // The sender cannot open their own packet: the API's refusal.
        await page.GotoAsync("/wallet/redpackets?Code=" + Uri.EscapeDataString(code));
        await page.GetByRole(AriaRole.Button, new() { Name = "Open it" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("own_red_packet");

        // The friend types the code, sees who it is from, and opens it: ¥4.44.
        await friendPage.GotoAsync("/wallet/redpackets");
        await friendPage.GetByLabel("红包口令").FillAsync(code);
        await friendPage.GetByRole(AriaRole.Button, new() { Name = "查看" }).ClickAsync();
        (await friendPage.Locator("[data-redpacket]").GetAttributeAsync("data-redpacket")).ShouldBe("open");
        var opened = await friendPage.Locator("[data-redpacket]").InnerTextAsync();
        opened.ShouldContain("新年快乐");
        await ConsoleBrowser.ScreenshotAsync(friendPage, "wallet.redpacket-open.zh-CN");
        await friendPage.GetByRole(AriaRole.Button, new() { Name = "拆红包" }).ClickAsync();
        (await friendPage.Locator("p.done").InnerTextAsync()).ShouldBe("已领取 ¥4.44");
        (await friendPage.Locator("[data-redpacket] .amount").InnerTextAsync()).ShouldBe("¥4.44");
        // Opened once: no second button.
        (await friendPage.GetByRole(AriaRole.Button, new() { Name = "拆红包" }).CountAsync()).ShouldBe(0);
        (await friend.AvailableAsync()).ShouldBe(38_000 + 444);

        browser.Failures[page].ShouldBeEmpty();
        browser.Failures[friendPage].ShouldBeEmpty();
        await browser.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_second_step_up_within_the_minute_gets_no_sms_but_the_authenticator_code_still_works()
    {
        var person = await SecureUser.CreateAsync(browser.Http, ConsoleBrowser.OperatorKey, "吴桐");
        await person.TopUpAsync(20_000);
        // The authenticator was set up earlier (the security page's own journey is in WalletPagesTests).
        using var enrolled = await person.PostAsync("/v1/me/totp", new { });
        enrolled.EnsureSuccessStatusCode();
        var secret = System.Text.Json.Nodes.JsonNode.Parse(await enrolled.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();
        using var confirmed = await person.PostAsync("/v1/me/totp/confirm", new { code = Operators.OperatorSupport.Code(secret, DateTimeOffset.UtcNow) });
        confirmed.EnsureSuccessStatusCode();

        var page = await browser.NewPageAsync("zh-CN", ConsoleBrowser.Phone);
        await browser.LogInAsync(page, person);
        // A withdrawal takes the step-up SMS of this minute.
        await page.GotoAsync("/wallet/funds");
        var withdraw = page.Locator("form[data-form=withdraw]");
        await withdraw.GetByLabel("金额（元）").FillAsync("50");
        await withdraw.GetByLabel("支付密码").FillAsync(SecureUser.Pin);
        var seen = await browser.MessageCountAsync(person.Phone);
        await withdraw.GetByRole(AriaRole.Button, new() { Name = "提现" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("step_up_required");
        await withdraw.GetByLabel("支付密码").FillAsync(SecureUser.Pin);
        await withdraw.GetByLabel("安全验证码").FillAsync(await browser.NextCodeAsync(person.Phone, seen));
        await withdraw.GetByRole(AriaRole.Button, new() { Name = "提现" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldContain("提现已提交");

        // A red packet right after: no second SMS this minute, yet the page still asks for the code, which the app gives.
        await page.GotoAsync("/wallet/redpackets");
        await page.GetByLabel("总金额（元）").FillAsync("6.66");
        await page.GetByLabel("支付密码").FillAsync(SecureUser.Pin);
        await page.GetByRole(AriaRole.Button, new() { Name = "发红包" }).ClickAsync();
        (await page.Locator("p.error").GetAttributeAsync("data-code")).ShouldBe("step_up_required");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.redpacket-stepup-totp.zh-CN");
        await page.GetByLabel("支付密码").FillAsync(SecureUser.Pin);
        // The next 30-second step: the one the enrolment used is spent.
        await page.GetByLabel("安全验证码").FillAsync(Operators.OperatorSupport.Code(secret, DateTimeOffset.UtcNow.AddSeconds(30)));
        await page.GetByRole(AriaRole.Button, new() { Name = "发红包" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("红包已发出。", await page.Locator("main").InnerTextAsync());
        (await person.AvailableAsync()).ShouldBe(20_000 - 5_000 - 666);
        browser.Failures[page].ShouldBeEmpty();
        await browser.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_coupon_from_an_operators_campaign_is_claimed_left_unused_by_choice_and_then_used_on_a_qr_payment()
    {
        var campaignName = "满10减3 " + Guid.NewGuid().ToString("N")[..6];
        await browser.CouponCampaignAsync(campaignName, offFen: 300, minSpendFen: 1_000, stock: 50);
        var shop = await browser.ShopAsync("街角面包");
        var person = await SecureUser.CreateAsync(browser.Http, ConsoleBrowser.OperatorKey, "陈晨");
        await person.TopUpAsync(5_000);

        var page = await browser.NewPageAsync("zh-CN", ConsoleBrowser.Phone);
        await browser.LogInAsync(page, person);
        await page.GotoAsync("/wallet/coupons");
        var offer = page.Locator("ul[data-campaigns] li", new() { HasTextString = campaignName });
        (await offer.InnerTextAsync()).ShouldContain("立减 ¥3.00 · 满 ¥10.00 可用");
        await offer.GetByRole(AriaRole.Button, new() { Name = "领取" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldStartWith("优惠券已领取");
        // Claimed once (one a person): the offer is gone, the coupon is the person's.
        (await page.Locator("ul[data-campaigns] li", new() { HasTextString = campaignName }).CountAsync()).ShouldBe(0);
        var mine = page.Locator("table[data-coupons] tbody tr");
        (await mine.CountAsync()).ShouldBe(1);
        (await mine.First.InnerTextAsync()).ShouldContain("可使用");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.coupons-claimed.zh-CN");

        // A QR payment of ¥12.34 at the shop: the preview offers the best coupon (¥3.00 off); the person chooses none.
        var qr = await WalletBrowser.TradeQrAsync(shop, "12.34", "吐司");
        await page.GotoAsync("/wallet/pay");
        await page.GetByLabel("或粘贴二维码内容").FillAsync(qr);
        await page.GetByRole(AriaRole.Button, new() { Name = "下一步" }).ClickAsync();
        (await page.Locator("[data-pay-amount]").GetAttributeAsync("data-pay-amount")).ShouldBe("934");
        (await page.Locator("[data-preview]").InnerTextAsync()).ShouldContain("优惠 -¥3.00");
        var choice = page.Locator("select[name=CouponId]");
        (await choice.Locator("option").AllInnerTextsAsync()).Count.ShouldBe(3);
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.pay-coupon.zh-CN");
        await choice.SelectOptionAsync("none");
        await page.GetByLabel("支付密码").FillAsync(SecureUser.Pin);
        await page.GetByRole(AriaRole.Button, new() { Name = "确认付款" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("付款成功 ¥12.34");
        (await person.AvailableAsync()).ShouldBe(5_000 - 1_234);

        // The next order, ¥20.00, in English, with the coupon (the default): ¥17.00 paid, the coupon used.
        var second = await WalletBrowser.TradeQrAsync(shop, "20.00", "蛋糕");
        await page.GotoAsync("/wallet/pay?lang=en");
        await page.GetByLabel("Or paste the QR code's text").FillAsync(second);
        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
        (await page.Locator("[data-pay-amount]").GetAttributeAsync("data-pay-amount")).ShouldBe("1700");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.pay-coupon.en");
        await page.GetByLabel("Payment PIN").FillAsync(SecureUser.Pin);
        await page.GetByRole(AriaRole.Button, new() { Name = "Pay now" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("Paid ¥17.00");
        (await page.Locator("[data-paid]").InnerTextAsync()).ShouldContain("Discount ¥3.00");
        (await person.AvailableAsync()).ShouldBe(5_000 - 1_234 - 1_700);

        await page.GotoAsync("/wallet/coupons");
        (await page.Locator("table[data-coupons] tbody tr").First.InnerTextAsync()).ShouldContain("used");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.coupons-used.en");
        browser.Failures[page].ShouldBeEmpty();
        await browser.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Turning_marketing_on_records_a_consent_shown_on_the_page_and_security_alerts_stay_locked_on()
    {
        var person = await SecureUser.CreateAsync(browser.Http, ConsoleBrowser.OperatorKey, "高远", setPin: false, verifyIdentity: false);
        var page = await browser.NewPageAsync("en", ConsoleBrowser.Phone);
        await browser.LogInAsync(page, person);
        await page.GotoAsync("/wallet/preferences");
        (await page.Locator("table[data-consents]").CountAsync()).ShouldBe(0);
        // Security alerts: on and not switchable.
        foreach (var channel in new[] { "in_app", "sms", "email" })
        {
            var security = page.Locator($"input[name=On][value='security.{channel}']");
            (await security.IsCheckedAsync()).ShouldBeTrue(channel);
            (await security.IsDisabledAsync()).ShouldBeTrue(channel);
        }
        (await page.Locator("input[name=On][value='marketing.sms']").IsCheckedAsync()).ShouldBeFalse();

        // Offers by SMS on, quiet hours on: saved, and the consent is on the page.
        await page.Locator("input[name=On][value='marketing.sms']").CheckAsync();
        await page.GetByLabel("On", new() { Exact = true }).CheckAsync();
        await page.GetByLabel("From", new() { Exact = true }).FillAsync("22:00");
        await page.GetByLabel("Until", new() { Exact = true }).FillAsync("07:30");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("Settings saved.", await page.Locator("main").InnerTextAsync());
        (await page.Locator("input[name=On][value='marketing.sms']").IsCheckedAsync()).ShouldBeTrue();
        (await page.Locator("input[name=On][value='security.email']").IsCheckedAsync()).ShouldBeTrue();
        (await page.GetByLabel("From", new() { Exact = true }).InputValueAsync()).ShouldBe("22:00");
        var consents = page.Locator("table[data-consents] tbody tr");
        (await consents.CountAsync()).ShouldBe(1);
        (await consents.First.InnerTextAsync()).ShouldContain("SMS");
        (await consents.First.InnerTextAsync()).ShouldContain("granted");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.preferences-consent.en");

        // Off again: a withdrawal of the consent, newest first; in Chinese.
        await page.GotoAsync("/wallet/preferences?lang=zh-CN");
        await page.Locator("input[name=On][value='marketing.sms']").UncheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "保存" }).ClickAsync();
        (await page.Locator("p.done").InnerTextAsync()).ShouldBe("设置已保存。");
        consents = page.Locator("table[data-consents] tbody tr");
        (await consents.CountAsync()).ShouldBe(2);
        (await consents.First.InnerTextAsync()).ShouldContain("已撤回");
        await ConsoleBrowser.ScreenshotAsync(page, "wallet.preferences-consent.zh-CN");
        browser.Failures[page].ShouldBeEmpty();
    }
}
