using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// The open platform end to end with the official alipay-sdk as the merchant's client (every call verifies our
/// response signature) and real wallet users paying over HTTP, on each engine.
/// </summary>
public abstract class SdkScenarioTests<TServer>(TServer server, ITestOutputHelper output) : IClassFixture<TServer> where TServer : GatewayServer
{
    private const int FeeBps = 60; // 0.6%, a typical face-to-face rate

    protected TServer Server { get; } = server;

    [Fact]
    public async Task Qr_payment_is_queried_notified_and_refunded_exactly_once_per_request_no()
    {
        var sdk = await Server.SdkAsync();
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var client = await RegisterAsync(sdk, app);
        var buyer = await Server.BuyerAsync(10_000);
        var outTradeNo = "QR-" + Guid.NewGuid().ToString("N");

        var precreated = await sdk.ExecAsync(client, "alipay.trade.precreate",
            new { out_trade_no = outTradeNo, total_amount = "12.34", subject = "测试商品 & = 扫码" }, sdk.NotifyUrl + "?shop=1&lane=a+b");
        Ok(precreated);
        precreated["outTradeNo"]!.GetValue<string>().ShouldBe(outTradeNo);
        var qr = precreated["qrCode"]!.GetValue<string>();
        qr.ShouldNotBeNullOrEmpty();
        (await QueryAsync(sdk, client, outTradeNo))["tradeStatus"]!.GetValue<string>().ShouldBe("WAIT_BUYER_PAY");

        var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        var paidJson = (await paid.Content.ReadFromJsonAsync<JsonObject>())!;
        paidJson["status"]!.GetValue<string>().ShouldBe("TRADE_SUCCESS");
        paidJson["amount"]!.GetValue<long>().ShouldBe(1_234);
        (await buyer.AvailableAsync()).ShouldBe(10_000 - 1_234);

        var query = await QueryAsync(sdk, client, outTradeNo);
        query["tradeStatus"]!.GetValue<string>().ShouldBe("TRADE_SUCCESS");
        query["totalAmount"]!.GetValue<string>().ShouldBe("12.34");
        query["buyerPayAmount"]!.GetValue<string>().ShouldBe("12.34");
        query["buyerUserId"]!.GetValue<string>().ShouldBe(buyer.UserId.ToString("N"));
        var tradeNo = query["tradeNo"]!.GetValue<string>();

        // The payment's notification: in the outbox with the trade, then (once the dispatcher runs) at our receiver,
        // where the SDK's own checks accept its signature.
        await Server.CountEventuallyAsync(1, "SELECT count(*) FROM notify_deliveries WHERE trade_no = @tradeNo AND event = 'payment'", new { tradeNo });
        if (Server.NotificationsWired)
        {
            var note = await NotificationAsync(sdk, outTradeNo, n => n.GetValueOrDefault("trade_status") == "TRADE_SUCCESS" && n.GetValueOrDefault("refund_fee") is null);
            note.GetValueOrDefault("notify_type").ShouldBe("trade_status_sync");
            note.GetValueOrDefault("app_id").ShouldBe(app.AppId);
            note.GetValueOrDefault("trade_no").ShouldBe(tradeNo);
            note.GetValueOrDefault("total_amount").ShouldBe("12.34");
            note.GetValueOrDefault("buyer_id").ShouldBe(buyer.UserId.ToString("N"));
            note.GetValueOrDefault("subject").ShouldBe("测试商品 & = 扫码");
            // Sent to the trade's notify_url exactly as given, query string included.
            (await sdk.NotificationsAsync(outTradeNo)).ShouldAllBe(n => n!["path"]!.GetValue<string>() == "/notify?shop=1&lane=a+b");
        }
        else
        {
            output.WriteLine("NotificationDispatcher is not wired into the host yet: delivery to the receiver not checked.");
        }

        // Partial refund twice with one out_request_no: one refund, the replay says fund_change N.
        var refund = new { out_trade_no = outTradeNo, refund_amount = "2.00", out_request_no = "R1", refund_reason = "退货" };
        var first = await sdk.ExecAsync(client, "alipay.trade.refund", refund);
        Ok(first);
        first["fundChange"]!.GetValue<string>().ShouldBe("Y");
        first["refundFee"]!.GetValue<string>().ShouldBe("2.00");
        var again = await sdk.ExecAsync(client, "alipay.trade.refund", refund);
        Ok(again);
        again["fundChange"]!.GetValue<string>().ShouldBe("N");
        again["refundFee"]!.GetValue<string>().ShouldBe("2.00");
        again["tradeNo"]!.GetValue<string>().ShouldBe(tradeNo);
        (await buyer.AvailableAsync()).ShouldBe(10_000 - 1_234 + 200);
        (await Server.CountAsync("SELECT count(*) FROM trade_refunds WHERE trade_no = @tradeNo", new { tradeNo })).ShouldBe(1);

        // The same request number with another amount is refused, and moves nothing.
        var conflicting = await sdk.ExecAsync(client, "alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "3.00", out_request_no = "R1" });
        Business(conflicting, "ACQ.CONTEXT_INCONSISTENT");
        (await buyer.AvailableAsync()).ShouldBe(10_000 - 1_234 + 200);

        var refundQuery = await sdk.ExecAsync(client, "alipay.trade.fastpay.refund.query", new { trade_no = tradeNo, out_request_no = "R1" });
        Ok(refundQuery);
        refundQuery["refundStatus"]!.GetValue<string>().ShouldBe("REFUND_SUCCESS");
        refundQuery["refundAmount"]!.GetValue<string>().ShouldBe("2.00");
        refundQuery["totalAmount"]!.GetValue<string>().ShouldBe("12.34");
        var unknownRequest = await sdk.ExecAsync(client, "alipay.trade.fastpay.refund.query", new { trade_no = tradeNo, out_request_no = "R-none" });
        Ok(unknownRequest);
        unknownRequest["refundStatus"].ShouldBeNull();

        var afterRefund = await QueryAsync(sdk, client, outTradeNo);
        afterRefund["tradeStatus"]!.GetValue<string>().ShouldBe("TRADE_SUCCESS");
        afterRefund["refundFee"]!.GetValue<string>().ShouldBe("2.00");

        // The merchant keeps the price less the refund less the fee (rounded down) on what was not refunded:
        // fee 12.34 × 0.6% = 0.07, of which 0.07 × 2.00 / 12.34 → 0.01 went back with the refund.
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((1_234 - 200 - 6, 0));
        await Server.CountEventuallyAsync(1, "SELECT count(*) FROM notify_deliveries WHERE trade_no = @tradeNo AND event = 'refund'", new { tradeNo });
        if (Server.NotificationsWired)
        {
            var note = await NotificationAsync(sdk, outTradeNo, n => n.GetValueOrDefault("refund_fee") == "2.00");
            note.GetValueOrDefault("trade_status").ShouldBe("TRADE_SUCCESS");
            note.GetValueOrDefault("out_biz_no").ShouldBe("R1");
        }
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Payment_code_pays_once_and_a_second_trade_with_it_is_refused()
    {
        var sdk = await Server.SdkAsync();
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var client = await RegisterAsync(sdk, app);
        var buyer = await Server.BuyerAsync(2_000);

        var issued = await buyer.PostAsync("/v1/payment-codes", new { });
        issued.StatusCode.ShouldBe(HttpStatusCode.Created, await issued.Content.ReadAsStringAsync());
        var code = (await issued.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
        code.Length.ShouldBe(18);
        code.All(char.IsAsciiDigit).ShouldBeTrue(code);

        var outTradeNo = "BAR-" + Guid.NewGuid().ToString("N");
        var pay = new { out_trade_no = outTradeNo, scene = "bar_code", auth_code = code, total_amount = "5.00", subject = "条码支付" };
        var paid = await sdk.ExecAsync(client, "alipay.trade.pay", pay);
        Ok(paid);
        paid["outTradeNo"]!.GetValue<string>().ShouldBe(outTradeNo);
        paid["totalAmount"]!.GetValue<string>().ShouldBe("5.00");
        paid["buyerUserId"]!.GetValue<string>().ShouldBe(buyer.UserId.ToString("N"));
        paid["gmtPayment"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        var tradeNo = paid["tradeNo"]!.GetValue<string>();
        (await buyer.AvailableAsync()).ShouldBe(1_500);

        // The merchant's retry of the same trade (a lost answer) gets the same trade, not a second charge.
        var retry = await sdk.ExecAsync(client, "alipay.trade.pay", pay);
        Ok(retry);
        retry["tradeNo"]!.GetValue<string>().ShouldBe(tradeNo);
        (await buyer.AvailableAsync()).ShouldBe(1_500);

        var reused = await sdk.ExecAsync(client, "alipay.trade.pay",
            new { out_trade_no = "BAR-" + Guid.NewGuid().ToString("N"), scene = "bar_code", auth_code = code, total_amount = "5.00", subject = "条码支付" });
        Business(reused, "ACQ.PAYMENT_AUTH_CODE_INVALID");
        (await buyer.AvailableAsync()).ShouldBe(1_500);
        (await QueryAsync(sdk, client, outTradeNo))["tradeStatus"]!.GetValue<string>().ShouldBe("TRADE_SUCCESS");

        // A buyer short of money: refused, nothing moves; after a top-up the till's retry with the same code pays.
        var poor = await Server.BuyerAsync(100, "余额不足");
        using var poorIssued = await poor.PostAsync("/v1/payment-codes", new { });
        var poorCode = (await poorIssued.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
        var poorPay = new { out_trade_no = "BAR-" + Guid.NewGuid().ToString("N"), scene = "bar_code", auth_code = poorCode, total_amount = "5.00", subject = "条码支付" };
        Business(await sdk.ExecAsync(client, "alipay.trade.pay", poorPay), "ACQ.BUYER_BALANCE_NOT_ENOUGH");
        (await poor.AvailableAsync()).ShouldBe(100);
        await poor.TopUpAsync(1_000);
        Ok(await sdk.ExecAsync(client, "alipay.trade.pay", poorPay));
        (await poor.AvailableAsync()).ShouldBe(600);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Closed_trade_is_queried_closed_and_its_qr_can_no_longer_be_paid()
    {
        var sdk = await Server.SdkAsync();
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var client = await RegisterAsync(sdk, app);
        var buyer = await Server.BuyerAsync(1_000);
        var outTradeNo = "CLOSE-" + Guid.NewGuid().ToString("N");

        var precreated = await sdk.ExecAsync(client, "alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = "1.00", subject = "待关闭" });
        Ok(precreated);
        var closed = await sdk.ExecAsync(client, "alipay.trade.close", new { out_trade_no = outTradeNo });
        Ok(closed);
        closed["outTradeNo"]!.GetValue<string>().ShouldBe(outTradeNo);
        (await QueryAsync(sdk, client, outTradeNo))["tradeStatus"]!.GetValue<string>().ShouldBe("TRADE_CLOSED");

        var pay = await buyer.PostAsync("/v1/qr-payments", new { qr_code = precreated["qrCode"]!.GetValue<string>() });
        await pay.ShouldBeProblemAsync(422, "trade_closed");
        (await buyer.AvailableAsync()).ShouldBe(1_000);
        (await QueryAsync(sdk, client, outTradeNo))["tradeStatus"]!.GetValue<string>().ShouldBe("TRADE_CLOSED");

        // Refunding or precreating it again is refused too.
        Business(await sdk.ExecAsync(client, "alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = "1.00" }), "ACQ.TRADE_STATUS_ERROR");
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Expired_trade_is_closed_by_the_sweeper_and_notified()
    {
        var sdk = await Server.SdkAsync();
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var client = await RegisterAsync(sdk, app);
        var buyer = await Server.BuyerAsync(1_000);
        var outTradeNo = "EXP-" + Guid.NewGuid().ToString("N");
        var precreated = await sdk.ExecAsync(client, "alipay.trade.precreate",
            new { out_trade_no = outTradeNo, total_amount = "1.00", subject = "过期", qr_code_timeout_express = "1m" }, sdk.NotifyUrl);
        Ok(precreated);

        // Rather than wait out the minute, move the deadline an hour back.
        (await Server.ExecuteAsync("UPDATE trades SET expires_at_us = expires_at_us - 3600000000 WHERE app_id = @AppId AND out_trade_no = @outTradeNo",
            new { app.AppId, outTradeNo })).ShouldBe(1);
        (await QueryAsync(sdk, client, outTradeNo))["tradeStatus"]!.GetValue<string>().ShouldBe("TRADE_CLOSED");
        await (await buyer.PostAsync("/v1/qr-payments", new { qr_code = precreated["qrCode"]!.GetValue<string>() })).ShouldBeProblemAsync(422, "trade_closed");
        (await buyer.AvailableAsync()).ShouldBe(1_000);

        // The sweeper (every 5 s) writes the close down and queues its notification.
        await Poll.UntilAsync(async () => await Server.CountAsync(
            "SELECT count(*) FROM trades WHERE app_id = @AppId AND out_trade_no = @outTradeNo AND status = 'TRADE_CLOSED'", new { app.AppId, outTradeNo }) == 1,
            "the expiry sweeper to close the trade", timeoutMs: 15_000);
        if (Server.NotificationsWired)
        {
            var note = await NotificationAsync(sdk, outTradeNo, n => n.GetValueOrDefault("trade_status") == "TRADE_CLOSED");
            note.GetValueOrDefault("gmt_close").ShouldNotBeNullOrEmpty();
            note.GetValueOrDefault("gmt_payment").ShouldBeNull();
        }
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Frozen_trade_settles_the_partner_share_and_releases_the_rest()
    {
        var sdk = await Server.SdkAsync();
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 100);
        var partner = await Server.CreateMerchantAsync(feeBps: 0, name: "分账伙伴");
        var client = await RegisterAsync(sdk, app);
        var buyer = await Server.BuyerAsync(20_000);
        var outTradeNo = "ROY-" + Guid.NewGuid().ToString("N");

        var precreated = await sdk.ExecAsync(client, "alipay.trade.precreate", new
        {
            out_trade_no = outTradeNo, total_amount = "100.00", subject = "分账商品", extend_params = new { royalty_freeze = "true" },
        });
        Ok(precreated);
        var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = precreated["qrCode"]!.GetValue<string>() });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        var tradeNo = (await paid.Content.ReadFromJsonAsync<JsonObject>())!["trade_no"]!.GetValue<string>();

        // Net proceeds (100.00 less the 1% fee) are frozen until settlement.
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((0, 9_900));

        var bound = await sdk.ExecAsync(client, "alipay.trade.royalty.relation.bind", new
        {
            out_request_no = "BIND-" + Guid.NewGuid().ToString("N"),
            receiver_list = new[] { new { type = "userId", account = partner.ToString(), name = "分账伙伴", memo = "合作分成" } },
        });
        Ok(bound);
        bound["resultCode"]!.GetValue<string>().ShouldBe("SUCCESS");

        var settleRequest = new
        {
            out_request_no = "SET-" + Guid.NewGuid().ToString("N"), trade_no = tradeNo,
            royalty_parameters = new[] { new { trans_in_type = "userId", trans_in = partner.ToString(), amount = "30.00", desc = "分账" } },
        };
        var settled = await sdk.ExecAsync(client, "alipay.trade.order.settle", settleRequest);
        Ok(settled);
        var settleNo = settled["settleNo"]!.GetValue<string>();
        settleNo.ShouldNotBeNullOrEmpty();

        (await Server.SettlementAsync(partner)).ShouldBe((3_000, 0));
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((9_900 - 3_000, 0));

        // A replay answers the same settlement and moves nothing more.
        var replay = await sdk.ExecAsync(client, "alipay.trade.order.settle", settleRequest);
        Ok(replay);
        replay["settleNo"]!.GetValue<string>().ShouldBe(settleNo);
        (await Server.SettlementAsync(partner)).ShouldBe((3_000, 0));
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((6_900, 0));
        (await buyer.AvailableAsync()).ShouldBe(10_000);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Request_signed_with_another_key_is_refused_and_a_wrong_platform_key_fails_the_sdk()
    {
        var sdk = await Server.SdkAsync();
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var client = await RegisterAsync(sdk, app);
        var outTradeNo = "SIG-" + Guid.NewGuid().ToString("N");

        // The SDK configured with a private key other than the one registered: its signature does not verify, and
        // the refusal comes back under the method's key, signed, so validateSign still passes on it.
        var forger = client + "-forger";
        await sdk.RegisterAsync(forger, app.AppId, SdkKeys.PrivatePkcs1(SdkKeys.Stranger), app.PlatformPublicKey);
        var refused = await sdk.ExecAsync(forger, "alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = "1.00", subject = "伪造" });
        refused["code"]!.GetValue<string>().ShouldBe("40002", refused.ToJsonString());
        refused["subCode"]!.GetValue<string>().ShouldBe("isv.invalid-signature", refused.ToJsonString());
        Business(await sdk.ExecAsync(client, "alipay.trade.query", new { out_trade_no = outTradeNo }), "ACQ.TRADE_NOT_EXIST");

        // A request refused while its parameters are collected (biz_content over 32 KiB) still answers under the
        // method's key, signed: the SDK returns the refusal instead of throwing 验签失败.
        var oversize = await sdk.ExecAsync(client, "alipay.trade.precreate",
            new { out_trade_no = outTradeNo, total_amount = "1.00", subject = "超长", body = new string('x', 33 * 1024) });
        oversize["code"]!.GetValue<string>().ShouldBe("40002", oversize.ToJsonString());
        oversize["subCode"]!.GetValue<string>().ShouldBe("isv.invalid-parameter", oversize.ToJsonString());

        // The check the SDK makes on our side is real: a merchant holding the wrong platform key rejects our answer.
        var misconfigured = client + "-wrong-platform-key";
        await sdk.RegisterAsync(misconfigured, app.AppId, SdkKeys.PrivatePkcs1(SdkKeys.App),
            Qianbao.Server.Adapters.Alipay.AlipayKeys.ExportPublicKeyBase64(SdkKeys.Stranger));
        var error = await Should.ThrowAsync<SdkException>(() =>
            sdk.ExecAsync(misconfigured, "alipay.trade.query", new { out_trade_no = outTradeNo }));
        error.ErrorMessage.ShouldContain("验签失败");

        // A request whose biz_content was changed after signing (the C# signer, same layout as the SDK).
        var caller = Server.Caller(app);
        var p = caller.Sign(caller.Parameters("alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = "1.00", subject = "原文" }));
        p["biz_content"] = p["biz_content"].Replace("1.00", "0.01", StringComparison.Ordinal);
        (await caller.SendAsync("alipay.trade.precreate", p)).ShouldBe("40002", "isv.invalid-signature");
        Business(await sdk.ExecAsync(client, "alipay.trade.query", new { out_trade_no = outTradeNo }), "ACQ.TRADE_NOT_EXIST");
    }

    [Fact]
    public async Task Created_trade_is_paid_by_its_buyer_and_cancel_refunds_it()
    {
        var sdk = await Server.SdkAsync();
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var client = await RegisterAsync(sdk, app);
        var buyer = await Server.BuyerAsync(5_000);
        var stranger = await Server.BuyerAsync(5_000, "路人");
        var outTradeNo = "APP-" + Guid.NewGuid().ToString("N");

        var created = await sdk.ExecAsync(client, "alipay.trade.create",
            new { out_trade_no = outTradeNo, total_amount = "8.80", subject = "小程序下单", buyer_id = buyer.UserId.ToString() });
        Ok(created);
        var tradeNo = created["tradeNo"]!.GetValue<string>();
        (await QueryAsync(sdk, client, outTradeNo))["tradeStatus"]!.GetValue<string>().ShouldBe("WAIT_BUYER_PAY");

        // Made for one buyer: nobody else can even see it.
        await (await stranger.PostAsync($"/v1/trades/{tradeNo}/pay", new { })).ShouldBeProblemAsync(404, "not_found");
        var paid = await buyer.PostAsync($"/v1/trades/{tradeNo}/pay", new { });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        (await buyer.AvailableAsync()).ShouldBe(5_000 - 880);
        (await QueryAsync(sdk, client, outTradeNo))["tradeStatus"]!.GetValue<string>().ShouldBe("TRADE_SUCCESS");

        var cancelled = await sdk.ExecAsync(client, "alipay.trade.cancel", new { out_trade_no = outTradeNo });
        Ok(cancelled);
        cancelled["action"]!.GetValue<string>().ShouldBe("refund");
        cancelled["retryFlag"]!.GetValue<string>().ShouldBe("N");
        (await buyer.AvailableAsync()).ShouldBe(5_000);
        (await stranger.AvailableAsync()).ShouldBe(5_000);
        (await QueryAsync(sdk, client, outTradeNo))["tradeStatus"]!.GetValue<string>().ShouldBe("TRADE_CLOSED");
        // The merchant had nothing but this sale: the fee came back with the refund, so the cancel could pay in full.
        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((0, 0));

        // Cancelling again changes nothing.
        Ok(await sdk.ExecAsync(client, "alipay.trade.cancel", new { out_trade_no = outTradeNo }));
        (await buyer.AvailableAsync()).ShouldBe(5_000);

        // An unpaid trade is simply closed.
        var unpaid = "APP-" + Guid.NewGuid().ToString("N");
        Ok(await sdk.ExecAsync(client, "alipay.trade.create", new { out_trade_no = unpaid, total_amount = "1.00", subject = "未付", buyer_id = buyer.UserId.ToString() }));
        var closed = await sdk.ExecAsync(client, "alipay.trade.cancel", new { out_trade_no = unpaid });
        Ok(closed);
        closed["action"]!.GetValue<string>().ShouldBe("close");
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Bill_download_url_serves_a_csv_with_the_paid_trade()
    {
        var sdk = await Server.SdkAsync();
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var client = await RegisterAsync(sdk, app);
        var buyer = await Server.BuyerAsync(1_000);
        var outTradeNo = "BILL-" + Guid.NewGuid().ToString("N");
        var precreated = await sdk.ExecAsync(client, "alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = "3.21", subject = "账单, \"引号\"" });
        Ok(precreated);
        var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = precreated["qrCode"]!.GetValue<string>() });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        var query = await QueryAsync(sdk, client, outTradeNo);
        var billDate = query["sendPayDate"]!.GetValue<string>()[..10]; // the China day it was paid

        var answer = await sdk.ExecAsync(client, "alipay.data.dataservice.bill.downloadurl.query", new { bill_type = "trade", bill_date = billDate });
        Ok(answer);
        var url = answer["billDownloadUrl"]!.GetValue<string>();
        url.ShouldStartWith(Server.BaseUrl);

        using var anonymous = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var bill = await anonymous.GetAsync(url);
        var csv = await bill.Content.ReadAsStringAsync();
        bill.StatusCode.ShouldBe(HttpStatusCode.OK, csv);
        bill.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        var line = csv.Split('\n').SingleOrDefault(l => l.Contains(outTradeNo, StringComparison.Ordinal));
        line.ShouldNotBeNull(csv);
        line.ShouldContain(query["tradeNo"]!.GetValue<string>());
        line.ShouldContain("TRADE_SUCCESS");
        line.ShouldContain("3.21");
        line.ShouldContain("\"账单, \"\"引号\"\"\"");

        // The URL is the credential: altered, it serves nothing.
        using var forged = await anonymous.GetAsync(url.Replace("sig=", "sig=0", StringComparison.Ordinal));
        ((int)forged.StatusCode).ShouldBe(403);

        var future = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).AddDays(2).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var refused = await sdk.ExecAsync(client, "alipay.data.dataservice.bill.downloadurl.query", new { bill_type = "trade", bill_date = future });
        refused["code"]!.GetValue<string>().ShouldBe("40002", refused.ToJsonString());
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /// <summary>Registers an SDK client for the app (named after it) holding the registered key.</summary>
    [Fact]
    public async Task A_coupon_payment_shows_its_amounts_and_voucher_detail_list_to_the_sdk_in_the_query_and_the_notification()
    {
        var sdk = await Server.SdkAsync();
        var app = await Server.CreateMerchantWithAppAsync(FeeBps);
        var client = await RegisterAsync(sdk, app);
        var buyer = await Server.BuyerAsync(10_000);
        using var created = await Server.OperatorSendAsync(HttpMethod.Post, "/admin/v1/campaigns", new
        {
            name = "午餐立减", kind = "coupon", funding = new { source = "platform" }, budget = new { amount = 5_000, currency = "CNY" },
            starts_at = DateTimeOffset.UtcNow.AddMinutes(-5), ends_at = DateTimeOffset.UtcNow.AddDays(30), merchant_ids = new[] { app.MerchantId },
            coupon = new { type = "percent", percent_bps = 1_500, cap = 300, stock = 3, valid_days = 7 },
        }, Guid.NewGuid().ToString());
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var campaign = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        using var claimed = await buyer.PostAsync("/v1/coupons", new { campaign_id = campaign });
        claimed.StatusCode.ShouldBe(HttpStatusCode.Created, await claimed.Content.ReadAsStringAsync());
        var coupon = (await claimed.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();

        var outTradeNo = "CPN-" + Guid.NewGuid().ToString("N");
        var precreated = await sdk.ExecAsync(client, "alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = "12.34", subject = "套餐" },
            sdk.NotifyUrl);
        Ok(precreated);
        using var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = precreated["qrCode"]!.GetValue<string>() });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        // 15% of 12.34 = 1.851 → 185 fen (under the 3.00 cap).
        (await buyer.AvailableAsync()).ShouldBe(10_000 - 1_234 + 185);

        var query = await QueryAsync(sdk, client, outTradeNo);
        query["totalAmount"]!.GetValue<string>().ShouldBe("12.34");
        query["buyerPayAmount"]!.GetValue<string>().ShouldBe("10.49");
        query["receiptAmount"]!.GetValue<string>().ShouldBe("12.34");
        query["invoiceAmount"]!.GetValue<string>().ShouldBe("10.49");
        query["pointAmount"]!.GetValue<string>().ShouldBe("0.00");
        var voucher = query["voucherDetailList"]!.AsArray().Single()!;
        voucher["id"]!.GetValue<string>().ShouldBe(coupon.ToString("N"));
        voucher["name"]!.GetValue<string>().ShouldBe("午餐立减");
        voucher["amount"]!.GetValue<string>().ShouldBe("1.85");
        voucher["merchantContribute"]!.GetValue<string>().ShouldBe("0.00");
        voucher["otherContribute"]!.GetValue<string>().ShouldBe("1.85");

        if (Server.NotificationsWired)
        {
            var note = await NotificationAsync(sdk, outTradeNo, n => n.GetValueOrDefault("trade_status") == "TRADE_SUCCESS");
            note.GetValueOrDefault("buyer_pay_amount").ShouldBe("10.49");
            note.GetValueOrDefault("receipt_amount").ShouldBe("12.34");
            var list = JsonNode.Parse(note.GetValueOrDefault("voucher_detail_list")!)!.AsArray();
            list.Single()!["amount"]!.GetValue<string>().ShouldBe("1.85");
        }
        await Server.AssertLedgerOkAsync();
    }

    private static async Task<string> RegisterAsync(SdkDriver sdk, MerchantApp app)
    {
        await sdk.RegisterAsync(app.AppId, app.AppId, SdkKeys.PrivatePkcs1(SdkKeys.App), app.PlatformPublicKey);
        return app.AppId;
    }

    private static async Task<JsonObject> QueryAsync(SdkDriver sdk, string client, string outTradeNo)
    {
        var query = await sdk.ExecAsync(client, "alipay.trade.query", new { out_trade_no = outTradeNo });
        Ok(query);
        return query;
    }

    private static void Ok(JsonObject result)
    {
        result["code"]!.GetValue<string>().ShouldBe("10000", result.ToJsonString());
        result["msg"]!.GetValue<string>().ShouldBe("Success", result.ToJsonString());
    }

    private static void Business(JsonObject result, string subCode)
    {
        result["code"]!.GetValue<string>().ShouldBe("40004", result.ToJsonString());
        result["subCode"]!.GetValue<string>().ShouldBe(subCode, result.ToJsonString());
    }

    /// <summary>Waits (bounded) for a notification matching <paramref name="match"/> and checks the SDK accepted its signature.</summary>
    private static async Task<IReadOnlyDictionary<string, string?>> NotificationAsync(SdkDriver sdk, string outTradeNo,
        Func<IReadOnlyDictionary<string, string?>, bool> match)
    {
        JsonObject? found = null;
        await Poll.UntilAsync(async () =>
        {
            found = (await sdk.NotificationsAsync(outTradeNo)).Select(n => n!.AsObject()).FirstOrDefault(n => match(Fields(n)));
            return found is not null;
        }, $"a notification for {outTradeNo}", timeoutMs: 10_000);
        found!["method"]!.GetValue<string>().ShouldBe("POST");
        found["contentType"]!.GetValue<string>().ShouldStartWith("application/x-www-form-urlencoded");
        found["checkNotifySign"]!.GetValue<bool>().ShouldBeTrue(found.ToJsonString());
        found["checkNotifySignV2"]!.GetValue<bool>().ShouldBeTrue(found.ToJsonString());
        var fields = Fields(found);
        fields.GetValueOrDefault("sign_type").ShouldBe("RSA2");
        fields.GetValueOrDefault("notify_id").ShouldNotBeNullOrEmpty();
        fields.GetValueOrDefault("notify_time").ShouldNotBeNullOrEmpty();
        return fields;
    }

    private static Dictionary<string, string?> Fields(JsonObject notification) =>
        notification["fields"]!.AsObject().ToDictionary(f => f.Key, f => f.Value?.GetValue<string>(), StringComparer.Ordinal);
}

public sealed class SqliteSdkScenarioTests(SqliteGatewayServer server, ITestOutputHelper output) : SdkScenarioTests<SqliteGatewayServer>(server, output);

public sealed class PostgresSdkScenarioTests(PostgresGatewayServer server, ITestOutputHelper output) : SdkScenarioTests<PostgresGatewayServer>(server, output);
