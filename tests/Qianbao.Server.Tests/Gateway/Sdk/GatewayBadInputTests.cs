using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// Malformed and hostile gateway requests, sent with the C# signer over real TCP: each gets HTTP 200 with the right
/// Alipay code (40001/40002 <c>isv.*</c>, 40004 <c>ACQ.*</c>, 40006), never a 5xx, and none moves money.
/// </summary>
public abstract class GatewayBadInputTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private const string Precreate = "alipay.trade.precreate";

    protected TServer Server { get; } = server;

    [Fact]
    public async Task Missing_parameters_are_40001()
    {
        var bed = await BedAsync();
        var c = bed.Caller;

        await Expect(c, null, Without(c, "method"), "40001", "isv.missing-method");
        await Expect(c, Precreate, Without(c, "app_id"), "40001", "isv.missing-app-id");
        await Expect(c, Precreate, Without(c, "sign"), "40001", "isv.missing-signature");
        await Expect(c, Precreate, Without(c, "sign_type"), "40001", "isv.missing-signature-type");
        await Expect(c, Precreate, Without(c, "timestamp"), "40001", "isv.missing-timestamp");
        await Expect(c, Precreate, Without(c, "version"), "40001", "isv.missing-version");
        // An empty value is no value (Alipay drops empties from the string to sign).
        var emptyMethod = c.Parameters(Precreate, Biz());
        emptyMethod["method"] = "";
        await Expect(c, null, c.Sign(emptyMethod), "40001", "isv.missing-method");

        // Business parameters: the gateway names what is missing.
        await ExpectCall(c, Precreate, null, "40001", "isv.missing-parameter");
        await ExpectCall(c, Precreate, new { total_amount = "1.00", subject = "缺单号" }, "40001", "isv.missing-parameter");
        await ExpectCall(c, Precreate, new { out_trade_no = NewNo(), subject = "缺金额" }, "40001", "isv.missing-parameter");
        await ExpectCall(c, Precreate, new { out_trade_no = NewNo(), total_amount = "1.00" }, "40001", "isv.missing-parameter");
        await ExpectCall(c, Precreate, new { out_trade_no = NewNo(), total_amount = "", subject = "空金额" }, "40001", "isv.missing-parameter");
        await ExpectCall(c, "alipay.trade.query", new { }, "40001", "isv.missing-parameter");
        await ExpectCall(c, "alipay.trade.refund", new { out_trade_no = bed.PaidOutTradeNo }, "40001", "isv.missing-parameter");
        await ExpectCall(c, "alipay.trade.pay", new { out_trade_no = NewNo(), scene = "bar_code", total_amount = "1.00", subject = "缺码" }, "40001", "isv.missing-parameter");
        await ExpectCall(c, "alipay.trade.create", new { out_trade_no = NewNo(), total_amount = "1.00", subject = "缺买家" }, "40001", "isv.missing-parameter");
        await ExpectCall(c, "alipay.trade.order.settle", new { out_request_no = "S1", trade_no = bed.PaidTradeNo }, "40001", "isv.missing-parameter");

        await bed.AssertNothingMovedAsync();
    }

    [Fact]
    public async Task Duplicate_parameters_are_refused()
    {
        var bed = await BedAsync();
        var c = bed.Caller;
        var p = c.Sign(c.Parameters(Precreate, Biz()));
        var query = GatewayCaller.Encode(p.Where(kv => kv.Key != "biz_content"));
        var body = GatewayCaller.Encode(p.Where(kv => kv.Key == "biz_content"));

        // The same key twice in the query, with equal or different values.
        await ExpectRaw(c, Precreate, query + "&app_id=" + p["app_id"], body, "40002", "isv.invalid-parameter");
        await ExpectRaw(c, Precreate, query + "&app_id=2026000000000000", body, "40002", "isv.invalid-parameter");
        // Twice in the body.
        await ExpectRaw(c, Precreate, query, body + "&" + body, "40002", "isv.invalid-parameter");
        var other = "biz_content=" + Uri.EscapeDataString(Biz("5.00").ToJsonString());
        await ExpectRaw(c, Precreate, query, body + "&" + other, "40002", "isv.invalid-parameter");
        // In both places with different values: which one was signed would be ambiguous.
        await ExpectRaw(c, Precreate, query + "&" + other, body, "40002", "isv.invalid-parameter");
        // Query keys are case-insensitive: "Sign" repeats "sign".
        await ExpectRaw(c, Precreate, query + "&Sign=abc", body, "40002", "isv.invalid-parameter");
        // The method itself twice: there is no telling which to answer under.
        await ExpectRaw(c, null, query + "&method=alipay.trade.query", body, "40002", "isv.invalid-parameter");
        await ExpectRaw(c, null, query, body + "&method=alipay.trade.query", "40002", "isv.invalid-parameter");

        await bed.AssertNothingMovedAsync();
    }

    [Fact]
    public async Task Oversize_parameters_are_refused()
    {
        var bed = await BedAsync();
        var c = bed.Caller;

        // biz_content over its 32 KiB limit (the body stays under 64 KiB).
        var huge = new JsonObject { ["out_trade_no"] = NewNo(), ["total_amount"] = "1.00", ["subject"] = "大", ["body"] = new string('x', 33 * 1024) };
        await ExpectCall(c, Precreate, huge.ToJsonString(), "40002", "isv.invalid-parameter");
        // The whole body over 64 KiB: refused before it is read, under the method named in the query.
        var p = c.Sign(c.Parameters(Precreate, Biz()));
        var query = GatewayCaller.Encode(p.Where(kv => kv.Key != "biz_content"));
        await ExpectRaw(c, Precreate, query, GatewayCaller.Encode(p.Where(kv => kv.Key == "biz_content")) + "&pad=" + new string('y', 70 * 1024),
            "40002", "isv.invalid-parameter");
        // A single parameter over 8 KiB, in the body (in the query, Kestrel's 8 KiB request line limit answers 414 first).
        var longUrl = c.Sign(With(c.Parameters(Precreate, Biz()), "notify_url", "http://127.0.0.1/" + new string('n', 9 * 1024)));
        await ExpectRaw(c, Precreate, GatewayCaller.Encode(longUrl.Where(kv => kv.Key is not ("biz_content" or "notify_url"))),
            GatewayCaller.Encode(longUrl.Where(kv => kv.Key is "biz_content" or "notify_url")), "40002", "isv.invalid-parameter");
        // Too many parameters.
        var many = c.Parameters(Precreate, Biz());
        for (var i = 0; i < 70; i++) many["extra_" + i] = "v";
        await Expect(c, Precreate, c.Sign(many), "40002", "isv.invalid-parameter");
        // Fields over their own limits.
        await ExpectCall(c, Precreate, new { out_trade_no = new string('o', 65), total_amount = "1.00", subject = "长单号" }, "40002", "isv.invalid-parameter");
        await ExpectCall(c, Precreate, new { out_trade_no = NewNo(), total_amount = "1.00", subject = new string('主', 257) }, "40002", "isv.invalid-parameter");
        await ExpectCall(c, Precreate, new { out_trade_no = NewNo(), total_amount = "1.00", subject = "控制\u0001字符" }, "40002", "isv.invalid-parameter");
        await ExpectCall(c, "alipay.trade.refund", new { out_trade_no = bed.PaidOutTradeNo, refund_amount = "1.00", out_request_no = new string('r', 65) },
            "40002", "isv.invalid-parameter");
        // A method name far too long to be one.
        await Expect(c, null, c.Sign(With(c.Parameters(Precreate, Biz()), "method", "alipay." + new string('a', 200))), "40002", "isv.invalid-method");

        await bed.AssertNothingMovedAsync();
    }

    [Fact]
    public async Task Biz_content_that_is_not_a_json_object_is_refused()
    {
        var bed = await BedAsync();
        var c = bed.Caller;
        foreach (var text in new[] { "not json", "[1,2]", "\"string\"", "42", "null", "{\"out_trade_no\":", "{'out_trade_no':'x'}",
                     new string('[', 40) + new string(']', 40), "{\"a\":" + string.Concat(Enumerable.Repeat("{\"a\":", 30)) + "1" + new string('}', 31) })
            await ExpectCall(c, Precreate, text, "40002", "isv.invalid-parameter");
        // Not a form at all: the body is not read, the query alone lacks the business parameters.
        var p = c.Sign(c.Parameters(Precreate, Biz()));
        await ExpectRaw(c, Precreate, GatewayCaller.Encode(p.Where(kv => kv.Key != "biz_content")), p["biz_content"], "40002", "isv.invalid-signature",
            contentType: "application/json");
        // Broken percent-encoding in the body must not become a 5xx.
        var broken = await c.SendRawAsync(Precreate, GatewayCaller.Encode(p.Where(kv => kv.Key != "biz_content")), "biz_content=%E4%ZZ%");
        broken.Code.ShouldNotBe("10000", broken.Raw);
        broken.Code.ShouldNotBe("20000", broken.Raw);

        await bed.AssertNothingMovedAsync();
    }

    [Fact]
    public async Task Bad_amounts_are_refused_and_move_nothing()
    {
        var bed = await BedAsync();
        var c = bed.Caller;
        string[] bad = ["0", "0.00", "0.001", "-1", "-0.01", "1e3", "1E3", "100000000.01", "999999999999", " 1.00", "1.00 ", "1,00", "１.00", "+1.00",
            "1.", ".5", "01.00", "NaN", "Infinity", "0x10", "1.0.0"];
        foreach (var amount in bad)
        {
            await ExpectCall(c, Precreate, new { out_trade_no = NewNo(), total_amount = amount, subject = "金额" }, "40002", "isv.invalid-parameter", amount);
            await ExpectCall(c, "alipay.trade.refund", new { out_trade_no = bed.PaidOutTradeNo, refund_amount = amount, out_request_no = NewNo() },
                "40002", "isv.invalid-parameter", amount);
            await ExpectCall(c, "alipay.trade.create", new { out_trade_no = NewNo(), total_amount = amount, subject = "金额", buyer_id = bed.Buyer.UserId.ToString() },
                "40002", "isv.invalid-parameter", amount);
        }
        // JSON numbers are read as their text: the same rules apply.
        foreach (var amount in new[] { "1e3", "0.001", "-1", "0" })
            await ExpectCall(c, Precreate, $$"""{"out_trade_no":"{{NewNo()}}","total_amount":{{amount}},"subject":"数字"}""", "40002", "isv.invalid-parameter", amount);
        // A refund above what was paid is a business refusal.
        await ExpectCall(c, "alipay.trade.refund", new { out_trade_no = bed.PaidOutTradeNo, refund_amount = "5.01", out_request_no = NewNo() },
            "40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
        (await Server.CountAsync("SELECT count(*) FROM trades WHERE app_id = @AppId", new { bed.App.AppId })).ShouldBe(1);

        // The bounds themselves are fine (no money moves on precreate).
        (await c.CallAsync(Precreate, new { out_trade_no = NewNo(), total_amount = "0.01", subject = "下限" })).ShouldBe("10000");
        (await c.CallAsync(Precreate, new { out_trade_no = NewNo(), total_amount = "100000000.00", subject = "上限" })).ShouldBe("10000");
        (await c.CallAsync(Precreate, new { out_trade_no = NewNo(), total_amount = 12.5, subject = "数字金额" })).ShouldBe("10000");
        await bed.AssertNothingMovedAsync();
    }

    [Fact]
    public async Task Refused_pay_request_leaves_the_payment_code_usable()
    {
        var bed = await BedAsync();
        var c = bed.Caller;
        using var issued = await bed.Buyer.PostAsync("/v1/payment-codes", new { });
        var code = (await issued.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
        var outTradeNo = NewNo();

        await ExpectCall(c, "alipay.trade.pay", new { out_trade_no = outTradeNo, scene = "bar_code", auth_code = code, total_amount = "0", subject = "错金额" },
            "40002", "isv.invalid-parameter");
        await ExpectCall(c, "alipay.trade.pay", new { out_trade_no = outTradeNo, scene = "bar_code", auth_code = code, total_amount = "1.00" },
            "40001", "isv.missing-parameter");
        await ExpectCall(c, "alipay.trade.pay", new { out_trade_no = outTradeNo, scene = "face", auth_code = code, total_amount = "1.00", subject = "错场景" },
            "40002", "isv.invalid-parameter");
        await ExpectCall(c, "alipay.trade.pay", new { out_trade_no = NewNo(), scene = "bar_code", auth_code = "123", total_amount = "1.00", subject = "错码" },
            "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID");
        await bed.AssertNothingMovedAsync();

        // The merchant fixes the request: the buyer's code still pays (once).
        var paid = (await c.CallAsync("alipay.trade.pay", new { out_trade_no = outTradeNo, scene = "bar_code", auth_code = code, total_amount = "1.00", subject = "改正" }))
            .ShouldBe("10000");
        paid["buyer_user_id"].ShouldBe(bed.Buyer.UserId.ToString("N"));
        (await bed.Buyer.AvailableAsync()).ShouldBe(bed.BuyerBalance - 100);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Pay_under_an_out_trade_no_of_another_trade_is_refused_without_spending_the_code()
    {
        var bed = await BedAsync();
        var c = bed.Caller;
        using var issued = await bed.Buyer.PostAsync("/v1/payment-codes", new { });
        var code = (await issued.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>();
        var open = NewNo();
        (await c.CallAsync(Precreate, new { out_trade_no = open, total_amount = "2.00", subject = "待付" })).ShouldBe("10000");

        await ExpectCall(c, "alipay.trade.pay", new { out_trade_no = open, scene = "bar_code", auth_code = code, total_amount = "3.00", subject = "撞单" },
            "40004", "ACQ.CONTEXT_INCONSISTENT");
        await ExpectCall(c, "alipay.trade.pay", new { out_trade_no = bed.PaidOutTradeNo, scene = "bar_code", auth_code = code, total_amount = "5.00", subject = "已付" },
            "40004", "ACQ.TRADE_HAS_SUCCESS");
        await bed.AssertNothingMovedAsync();

        // The code was not spent by the refused requests: it still pays a fresh trade.
        (await c.CallAsync("alipay.trade.pay", new { out_trade_no = NewNo(), scene = "bar_code", auth_code = code, total_amount = "1.00", subject = "新单" }))
            .ShouldBe("10000");
        (await bed.Buyer.AvailableAsync()).ShouldBe(bed.BuyerBalance - 100);
    }

    [Fact]
    public async Task Authentication_failures_are_40002_or_40006()
    {
        var bed = await BedAsync();
        var c = bed.Caller;

        await Expect(c, Precreate, c.Sign(With(c.Parameters(Precreate, Biz()), "app_id", "2026999999999999")), "40002", "isv.invalid-app-id");
        await Expect(c, Precreate, c.Sign(With(c.Parameters(Precreate, Biz()), "app_id", "bad app id!")), "40002", "isv.invalid-app-id");
        await Expect(c, Precreate, With(c.Sign(c.Parameters(Precreate, Biz())), "sign", "!!!not-base64!!!"), "40002", "isv.invalid-signature");
        await Expect(c, Precreate, With(c.Sign(c.Parameters(Precreate, Biz())), "sign", Convert.ToBase64String(new byte[256])), "40002", "isv.invalid-signature");
        await Expect(c, Precreate, c.Sign(With(c.Parameters(Precreate, Biz()), "sign_type", "RSA")), "40002", "isv.invalid-signature-type");
        await Expect(c, Precreate, c.Sign(With(c.Parameters(Precreate, Biz()), "sign_type", "MD5")), "40002", "isv.invalid-signature-type");
        var stale = AlipayTimeText(DateTimeOffset.UtcNow.AddMinutes(-20));
        await Expect(c, Precreate, c.Sign(With(c.Parameters(Precreate, Biz()), "timestamp", stale)), "40002", "isv.invalid-timestamp");
        await Expect(c, Precreate, c.Sign(With(c.Parameters(Precreate, Biz()), "timestamp", "2024/05/13 09:49:20")), "40002", "isv.invalid-timestamp");
        await Expect(c, Precreate, c.Sign(With(c.Parameters(Precreate, Biz()), "charset", "gbk")), "40002", "isv.invalid-charset");
        await Expect(c, Precreate, c.Sign(With(c.Parameters(Precreate, Biz()), "version", "2.0")), "40002", "isv.invalid-parameter");
        await Expect(c, Precreate, c.Sign(With(c.Parameters(Precreate, Biz()), "notify_url", "ftp://127.0.0.1/notify")), "40002", "isv.invalid-parameter");
        await Expect(c, Precreate, c.Sign(With(c.Parameters(Precreate, Biz()), "encrypt_type", "AES")), "40002", "isv.invalid-encrypt-type");
        // A well-formed method we do not implement: no method key to answer under.
        await Expect(c, null, c.Sign(c.Parameters("alipay.trade.page.pay", Biz())), "40002", "isv.invalid-method");
        // Signed by a key the app did not register.
        await Expect(c, Precreate, Server.Caller(bed.App, SdkKeys.Stranger).Sign(c.Parameters(Precreate, Biz())), "40002", "isv.invalid-signature");

        // A merchant not yet verified cannot transact, even with a valid signature.
        var pendingApp = await Server.CreateAppAsync(await Server.CreateMerchantAsync(feeBps: 0, verify: false));
        (await Server.Caller(pendingApp).CallAsync(Precreate, Biz())).ShouldBe("40006", "isv.insufficient-isv-permissions");

        // Another app's trade does not exist for this one.
        var otherApp = await Server.CreateMerchantWithAppAsync(feeBps: 0);
        (await Server.Caller(otherApp).CallAsync("alipay.trade.refund", new { out_trade_no = bed.PaidOutTradeNo, refund_amount = "1.00" }))
            .ShouldBe("40004", "ACQ.TRADE_NOT_EXIST");
        (await Server.Caller(otherApp).CallAsync("alipay.trade.refund", new { trade_no = bed.PaidTradeNo, refund_amount = "1.00" }))
            .ShouldBe("40004", "ACQ.TRADE_NOT_EXIST");
        await bed.AssertNothingMovedAsync();
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /// <summary>A verified merchant app with one paid 5.00 trade, a buyer with money left, and the ledger's fingerprint.</summary>
    private async Task<Bed> BedAsync()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 60);
        var caller = Server.Caller(app);
        var buyer = await Server.BuyerAsync(1_000);
        var outTradeNo = NewNo();
        var qr = (await caller.CallAsync(Precreate, new { out_trade_no = outTradeNo, total_amount = "5.00", subject = "已付" })).ShouldBe("10000")["qr_code"]!;
        using var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        var tradeNo = (await paid.Content.ReadFromJsonAsync<JsonObject>())!["trade_no"]!.GetValue<string>();
        return new Bed(Server, app, caller, buyer, 500, outTradeNo, tradeNo, await Server.LedgerFingerprintAsync(), await Server.SettlementAsync(app.MerchantId));
    }

    private sealed record Bed(GatewayServer Server, MerchantApp App, GatewayCaller Caller, WalletClient Buyer, long BuyerBalance, string PaidOutTradeNo,
        string PaidTradeNo, string Fingerprint, (long, long) Settlement)
    {
        public async Task AssertNothingMovedAsync()
        {
            (await Server.LedgerFingerprintAsync()).ShouldBe(Fingerprint, "the ledger changed");
            (await Buyer.AvailableAsync()).ShouldBe(BuyerBalance);
            (await Server.SettlementAsync(App.MerchantId)).ShouldBe(Settlement);
            await Server.AssertLedgerOkAsync();
        }
    }

    private static string NewNo() => "BAD-" + Guid.NewGuid().ToString("N");

    private static JsonObject Biz(string amount = "1.00") => new() { ["out_trade_no"] = NewNo(), ["total_amount"] = amount, ["subject"] = "坏输入" };

    private static string AlipayTimeText(DateTimeOffset t) => Qianbao.Server.Adapters.Alipay.AlipayTime.ToChinaString(t);

    private static Dictionary<string, string> Without(GatewayCaller c, string key)
    {
        var p = c.Sign(c.Parameters(Precreate, Biz()));
        p.Remove(key);
        return p;
    }

    private static Dictionary<string, string> With(Dictionary<string, string> p, string key, string value)
    {
        p[key] = value;
        return p;
    }

    private static async Task Expect(GatewayCaller c, string? answerMethod, Dictionary<string, string> parameters, string code, string subCode)
    {
        var answer = await c.SendAsync(answerMethod, parameters);
        answer.ShouldBe(code, subCode);
        answer.ResponseKey.ShouldBe(answerMethod is null ? "error_response" : answerMethod.Replace('.', '_') + "_response", answer.Raw);
    }

    private static async Task ExpectCall(GatewayCaller c, string method, object? biz, string code, string subCode, string? because = null)
    {
        var answer = await c.CallAsync(method, biz);
        answer.Code.ShouldBe(code, because + ": " + answer.Raw);
        answer.SubCode.ShouldBe(subCode, because + ": " + answer.Raw);
        answer.ResponseKey.ShouldBe(method.Replace('.', '_') + "_response", answer.Raw);
    }

    private static async Task ExpectRaw(GatewayCaller c, string? method, string query, string body, string code, string subCode,
        string contentType = "application/x-www-form-urlencoded;charset=UTF-8")
    {
        var answer = await c.SendRawAsync(method, query, body, contentType);
        answer.ShouldBe(code, subCode);
        // Under the method's key (signed, so the SDK can verify it) whenever the method is unambiguous.
        answer.ResponseKey.ShouldBe(method is null ? "error_response" : method.Replace('.', '_') + "_response", answer.Raw);
        Encoding.UTF8.GetByteCount(answer.Raw).ShouldBeLessThan(8 * 1024, "an error answer stays small");
    }
}

public sealed class SqliteGatewayBadInputTests(SqliteGatewayServer server) : GatewayBadInputTests<SqliteGatewayServer>(server);

public sealed class PostgresGatewayBadInputTests(PostgresGatewayServer server) : GatewayBadInputTests<PostgresGatewayServer>(server);
