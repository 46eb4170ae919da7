using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Tests.Gateway.Notifications;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Merchants;

/// <summary>
/// The native merchant API's apps and keys (notify URL, public key) and the merchant's own notify deliveries with replay, on the
/// real server with its dispatcher sending to a real receiver.
/// </summary>
public abstract class MerchantAppsAndNotifyTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private GatewayServer Server { get; } = server;
    private HttpClient Http => Server.Http;

    private async Task<(MerchantApp App, MerchantLogin Admin, string AdminToken)> ShopAsync(string? notifyUrl = null)
    {
        var admin = await MerchantAccounts.SignupAsync(Http, GatewayServer.OperatorKey, relaxed: true);
        await MerchantAccounts.ApproveAsync(Http, GatewayServer.OperatorKey, admin.MerchantId);
        var app = await Server.CreateAppAsync(admin.MerchantId, notifyUrl);
        return (app, admin, await MerchantAccounts.LoginAsync(Http, admin));
    }

    private async Task<string> StaffTokenAsync(string adminToken, Guid merchantId, string role) =>
        await MerchantAccounts.LoginAsync(Http, await MerchantAccounts.AddStaffAsync(Http, adminToken, merchantId, role));

    private async Task<JsonObject> SendOkAsync(string token, HttpMethod method, string path, object? body = null, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await MerchantAccounts.SendAsync(Http, method, path, token, body);
        response.StatusCode.ShouldBe(expected, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private async Task<string> PaidTradeAsync(MerchantApp app, WalletClient buyer, long fen)
    {
        var answer = (await Server.Caller(app).CallAsync("alipay.trade.precreate", new
        {
            out_trade_no = "NT-" + Guid.NewGuid().ToString("N"), total_amount = (fen / 100m).ToString("0.00", CultureInfo.InvariantCulture), subject = "通知",
        })).ShouldBe("10000");
        var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = answer["qr_code"] });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        return (await paid.Content.ReadFromJsonAsync<JsonObject>())!["trade_no"]!.GetValue<string>();
    }

    private async Task<JsonArray> DeliveriesAsync(string token, string query = "") =>
        (await SendOkAsync(token, HttpMethod.Get, "/merchant/v1/notify-deliveries" + query))["items"]!.AsArray();

    private static string Fingerprint(RSA key) => "SHA256:" + Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));

    [Fact]
    public async Task Staff_read_their_own_apps_and_only_the_admin_changes_the_notify_url_and_the_key()
    {
        var (app, admin, adminToken) = await ShopAsync("https://shop.example/notify");
        var (otherApp, _, otherToken) = await ShopAsync();
        var analystToken = await StaffTokenAsync(adminToken, admin.MerchantId, "analyst");
        var cashierToken = await StaffTokenAsync(adminToken, admin.MerchantId, "cashier");

        var list = await SendOkAsync(analystToken, HttpMethod.Get, "/merchant/v1/apps");
        var item = list["items"]!.AsArray().ShouldHaveSingleItem()!;
        item["app_id"]!.GetValue<string>().ShouldBe(app.AppId);
        item["status"]!.GetValue<string>().ShouldBe("active");
        item["sign_type"]!.GetValue<string>().ShouldBe("RSA2");
        item["notify_url"]!.GetValue<string>().ShouldBe("https://shop.example/notify");
        item["public_key_fingerprint"]!.GetValue<string>().ShouldBe(Fingerprint(SdkKeys.App));
        list["platform_public_key"]!.GetValue<string>().ShouldBe(Server.PlatformPublicKey);
        list["platform_public_key_pem"]!.GetValue<string>().ShouldStartWith("-----BEGIN PUBLIC KEY-----");
        (await SendOkAsync(otherToken, HttpMethod.Get, "/merchant/v1/apps"))["items"]!.AsArray().Single()!["app_id"]!.GetValue<string>().ShouldBe(otherApp.AppId);

        // The notify URL: admin only, absolute http(s), another merchant's app is not there.
        var path = $"/merchant/v1/apps/{app.AppId}/notify-url";
        (await SendOkAsync(adminToken, HttpMethod.Put, path, new { notify_url = "http://127.0.0.1:9/n" }))["notify_url"]!.GetValue<string>().ShouldBe("http://127.0.0.1:9/n");
        foreach (var bad in new[] { "ftp://shop.example/n", "/relative", "not a url", "https://" + new string('a', 600) + ".example/" })
            await (await MerchantAccounts.SendAsync(Http, HttpMethod.Put, path, adminToken, new { notify_url = bad })).ShouldBeProblemAsync(400, "invalid_notify_url");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Put, path, adminToken, new { })).ShouldBeProblemAsync(400, "invalid_notify_url");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Put, path, cashierToken, new { notify_url = "https://x.example/" })).ShouldBeProblemAsync(403, "forbidden");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Put, path, analystToken, new { notify_url = "https://x.example/" })).ShouldBeProblemAsync(403, "forbidden");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Put, path, otherToken, new { notify_url = "https://x.example/" })).ShouldBeProblemAsync(404, "not_found");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Put, "/merchant/v1/apps/nope/notify-url", adminToken, new { notify_url = "https://x.example/" })).ShouldBeProblemAsync(404, "not_found");
        (await SendOkAsync(analystToken, HttpMethod.Get, "/merchant/v1/apps"))["items"]!.AsArray().Single()!["notify_url"]!.GetValue<string>().ShouldBe("http://127.0.0.1:9/n");

        // The key: validated, admin only; the gateway verifies with the new key from the next request on.
        var keyPath = $"/merchant/v1/apps/{app.AppId}/public-key";
        using var small = RSA.Create(1024);
        foreach (var bad in new[] { "garbage", "", AlipayKeys.ExportPublicKeyBase64(small), AlipayKeys.ExportPrivateKeyPkcs1Base64(small) })
            await (await MerchantAccounts.SendAsync(Http, HttpMethod.Put, keyPath, adminToken, new { public_key = bad })).ShouldBeProblemAsync(400, "invalid_public_key");
        using var fresh = RSA.Create(2048);
        var pem = fresh.ExportSubjectPublicKeyInfoPem();
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Put, keyPath, cashierToken, new { public_key = pem })).ShouldBeProblemAsync(403, "forbidden");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Put, keyPath, otherToken, new { public_key = pem })).ShouldBeProblemAsync(404, "not_found");
        (await Server.Caller(app).CallAsync("alipay.trade.query", new { out_trade_no = "none" })).Code.ShouldNotBe("40002", "the old key still signs until the change");
        (await SendOkAsync(adminToken, HttpMethod.Put, keyPath, new { public_key = pem }))["public_key_fingerprint"]!.GetValue<string>().ShouldBe(Fingerprint(fresh));
        (await SendOkAsync(analystToken, HttpMethod.Get, "/merchant/v1/apps"))["items"]!.AsArray().Single()!["public_key_fingerprint"]!.GetValue<string>().ShouldBe(Fingerprint(fresh));
        (await Server.Caller(app).CallAsync("alipay.trade.query", new { out_trade_no = "none" })).Code.ShouldBe("40002");
        (await Server.Caller(app, fresh).CallAsync("alipay.trade.query", new { out_trade_no = "none" })).Code.ShouldNotBe("40002");
        // The other shop's app was not touched.
        (await Server.Caller(otherApp).CallAsync("alipay.trade.query", new { out_trade_no = "none" })).Code.ShouldNotBe("40002");
    }

    [Fact]
    public async Task A_merchant_lists_its_own_deliveries_page_by_page_and_replays_one()
    {
        await using var receiver = await NotifyReceiver.StartAsync();
        var (app, admin, adminToken) = await ShopAsync(receiver.Url);
        var (_, _, otherToken) = await ShopAsync(receiver.Url);
        var analystToken = await StaffTokenAsync(adminToken, admin.MerchantId, "analyst");
        var buyer = await Server.BuyerAsync(100_000);
        var first = await PaidTradeAsync(app, buyer, 1_000);
        var second = await PaidTradeAsync(app, buyer, 2_000);

        await Poll.UntilAsync(async () => (await DeliveriesAsync(analystToken, "?status=delivered")).Count == 2, "both notifications delivered");
        var items = await DeliveriesAsync(analystToken);
        items.Select(i => i!["trade_no"]!.GetValue<string>()).ShouldBe([second, first]);
        var one = items[1]!;
        one["notify_type"]!.GetValue<string>().ShouldBe("trade_status_sync");
        one["event"]!.GetValue<string>().ShouldBe("payment");
        one["url"]!.GetValue<string>().ShouldBe(receiver.Url);
        one["status"]!.GetValue<string>().ShouldBe("delivered");
        one["attempts"]!.GetValue<int>().ShouldBe(1);
        one["last_http_status"]!.GetValue<int>().ShouldBe(200);
        one["delivered_at"].ShouldNotBeNull();
        one["next_attempt_at"].ShouldBeNull();
        (await DeliveriesAsync(analystToken, "?status=failed")).ShouldBeEmpty();
        (await DeliveriesAsync(otherToken)).ShouldBeEmpty("another merchant sees none of them");

        var page1 = await SendOkAsync(analystToken, HttpMethod.Get, "/merchant/v1/notify-deliveries?limit=1");
        page1["items"]!.AsArray().Single()!["trade_no"]!.GetValue<string>().ShouldBe(second);
        var page2 = await SendOkAsync(analystToken, HttpMethod.Get, "/merchant/v1/notify-deliveries?limit=1&cursor=" + page1["next_cursor"]!.GetValue<string>());
        page2["items"]!.AsArray().Single()!["trade_no"]!.GetValue<string>().ShouldBe(first);
        page2["next_cursor"].ShouldBeNull();

        foreach (var (query, code) in new[] { ("?status=sent", "invalid_status"), ("?limit=0", "invalid_limit"), ("?limit=101", "invalid_limit"), ("?cursor=%25%25", "invalid_cursor") })
            await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/notify-deliveries" + query, analystToken)).ShouldBeProblemAsync(400, code);

        // Replay: admin only, own rows only; the delivered row goes out again with its notify_id.
        var id = one["id"]!.GetValue<Guid>();
        var replay = $"/merchant/v1/notify-deliveries/{id}/replay";
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, replay, analystToken)).ShouldBeProblemAsync(403, "forbidden");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, replay, otherToken)).ShouldBeProblemAsync(404, "not_found");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, $"/merchant/v1/notify-deliveries/{Guid.NewGuid()}/replay", adminToken)).ShouldBeProblemAsync(404, "not_found");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, "/merchant/v1/notify-deliveries/x/replay", adminToken)).ShouldBeProblemAsync(404, "not_found");
        var sentBefore = receiver.Received.Count;
        var answer = await SendOkAsync(adminToken, HttpMethod.Post, replay, expected: HttpStatusCode.Accepted);
        answer["status"]!.GetValue<string>().ShouldBe("pending");
        await Poll.UntilAsync(async () => (await DeliveriesAsync(analystToken)).Single(i => i!["id"]!.GetValue<Guid>() == id)!["attempts"]!.GetValue<int>() == 2, "the replay");
        receiver.Received.Count.ShouldBe(sentBefore + 1);
        receiver.Received[^1].Fields["notify_id"].ShouldBe(one["notify_id"]!.GetValue<string>());
        using var platform = AlipayKeys.ImportPublicKey(Server.PlatformPublicKey);
        AlipaySignature.Verify(AlipaySignature.BuildNotifySignContent(receiver.Received[^1].Fields), receiver.Received[^1].Fields["sign"], platform)
            .ShouldBeTrue("signed with the platform key");
    }

    [Fact]
    public async Task A_failed_delivery_replays_once_to_the_fixed_url_however_often_it_is_replayed_while_queued()
    {
        await using var receiver = await NotifyReceiver.StartAsync();
        var (app, _, adminToken) = await ShopAsync($"http://127.0.0.1:{NotifyBed.ClosedPort()}/notify");
        var buyer = await Server.BuyerAsync(10_000);
        var tradeNo = await PaidTradeAsync(app, buyer, 1_000);
        // Four attempts to a closed port (the test schedule retries after 0.2, 0.5 and 1 s), then failed.
        await Poll.UntilAsync(async () => (await DeliveriesAsync(adminToken, "?status=failed")).Count == 1, "the delivery failed");
        var failed = (await DeliveriesAsync(adminToken)).Single()!;
        failed["trade_no"]!.GetValue<string>().ShouldBe(tradeNo);
        failed["attempts"]!.GetValue<int>().ShouldBe(4);
        failed["last_http_status"].ShouldBeNull("no receiver ever answered");
        failed["last_error"]!.GetValue<string>().ShouldNotBeNullOrEmpty();

        // The shop fixes its URL; the receiver holds the replayed attempt open until the dispatcher gives up (3 s), so the row is
        // queued the whole time and every further replay must leave it alone.
        (await SendOkAsync(adminToken, HttpMethod.Put, $"/merchant/v1/apps/{app.AppId}/notify-url", new { notify_url = receiver.Url }))
            .ShouldNotBeNull();
        receiver.Answer = _ => null;
        var replay = $"/merchant/v1/notify-deliveries/{failed["id"]!.GetValue<Guid>()}/replay";
        var answers = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => MerchantAccounts.SendAsync(Http, HttpMethod.Post, replay, adminToken)));
        foreach (var a in answers)
        {
            a.StatusCode.ShouldBe(HttpStatusCode.Accepted, await a.Content.ReadAsStringAsync());
            (await a.Content.ReadFromJsonAsync<JsonObject>())!["url"]!.GetValue<string>().ShouldBe(receiver.Url);
        }
        await Poll.UntilAsync(() => Task.FromResult(receiver.Received.Count == 1), "the replayed attempt reached the receiver");
        (await SendOkAsync(adminToken, HttpMethod.Post, replay, expected: HttpStatusCode.Accepted))["status"]!.GetValue<string>().ShouldBe("pending");
        // The attempt times out: one more attempt was all the schedule had left, so the row fails again after exactly one send.
        await Poll.UntilAsync(async () => (await DeliveriesAsync(adminToken, "?status=failed")).Count == 1, "the replayed delivery timed out");
        receiver.Received.Count.ShouldBe(1);
        var after = (await DeliveriesAsync(adminToken)).Single()!;
        after["attempts"]!.GetValue<int>().ShouldBe(5);
        after["url"]!.GetValue<string>().ShouldBe(receiver.Url);
    }
}

public sealed class SqliteMerchantAppsAndNotifyTests(SqliteGatewayServer server) : MerchantAppsAndNotifyTests<SqliteGatewayServer>(server);

public sealed class PostgresMerchantAppsAndNotifyTests(PostgresGatewayServer server) : MerchantAppsAndNotifyTests<PostgresGatewayServer>(server);
