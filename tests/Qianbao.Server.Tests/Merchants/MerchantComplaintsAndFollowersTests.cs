using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Merchants;

/// <summary>
/// The native merchant API's complaints with replies (users' complaints about the merchant's trades; the merchant's reply
/// is the user's to read) and followers with service messages (the gateway's same sending path: follow, preferences and
/// quiet hours, idempotency).
/// </summary>
public abstract class MerchantComplaintsAndFollowersTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private GatewayServer Server { get; } = server;
    private HttpClient Http => Server.Http;

    private async Task<string> PaidTradeAsync(MerchantApp app, long fen, WalletClient payer)
    {
        var qr = (await Server.Caller(app).CallAsync("alipay.trade.precreate", new
        {
            out_trade_no = "MC-" + Guid.NewGuid().ToString("N"), total_amount = (fen / 100m).ToString("0.00", CultureInfo.InvariantCulture), subject = "投诉",
        })).ShouldBe("10000")["qr_code"];
        var paid = await payer.PostAsync("/v1/qr-payments", new { qr_code = qr });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        return (await paid.Content.ReadFromJsonAsync<JsonObject>())!["trade_no"]!.GetValue<string>();
    }

    private async Task<JsonObject> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(expected, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    private Task<HttpResponseMessage> MerchantAsync(HttpMethod method, string path, string token, object? body = null, string? key = null) =>
        MerchantAccounts.SendAsync(Http, method, path, token, body, key);

    private static async Task<JsonObject> ComplainAsync(WalletClient user, string tradeNo, string text)
    {
        var response = await user.PostAsync("/v1/complaints", new { trade_no = tradeNo, category = "merchant_service", text });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    [Fact]
    public async Task A_merchant_reads_and_answers_only_complaints_about_its_own_trades_and_the_user_reads_the_answer()
    {
        var (appA, adminA, tokenA) = await Server.ShopAsync();
        var (appB, _, tokenB) = await Server.ShopAsync();
        var buyer = await Server.BuyerAsync(100_000, "李小龙");
        var tradeA1 = await PaidTradeAsync(appA, 1_000, buyer);
        var tradeA2 = await PaidTradeAsync(appA, 2_000, buyer);
        var tradeB = await PaidTradeAsync(appB, 3_000, buyer);
        var first = (await ComplainAsync(buyer, tradeA1, "服务态度差"))["id"]!.GetValue<Guid>();
        var second = (await ComplainAsync(buyer, tradeA2, "少找了钱"))["id"]!.GetValue<Guid>();
        var other = (await ComplainAsync(buyer, tradeB, "别家的"))["id"]!.GetValue<Guid>();
        // A transfer complaint names no merchant.
        var bob = await Server.BuyerAsync(0, "Bob");
        var sent = await JsonAsync(await buyer.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 100 }), HttpStatusCode.Created);
        (await buyer.PostAsync("/v1/complaints", new { transfer_id = sent["id"]!.GetValue<Guid>(), category = "other", text = "转错了" })).StatusCode.ShouldBe(HttpStatusCode.Created);

        // The list: only A's, newest first, the user masked (no id), a page at a time.
        var all = await JsonAsync(await MerchantAsync(HttpMethod.Get, "/merchant/v1/complaints", tokenA), HttpStatusCode.OK);
        var items = all["items"]!.AsArray();
        items.Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([second, first]);
        items[0]!["user_name"]!.GetValue<string>().ShouldBe("**龙");
        items[0]!.AsObject().ContainsKey("user_id").ShouldBeFalse();
        items[0]!["trade_no"]!.GetValue<string>().ShouldBe(tradeA2);
        items[0]!["status"]!.GetValue<string>().ShouldBe("open");
        var page1 = await JsonAsync(await MerchantAsync(HttpMethod.Get, "/merchant/v1/complaints?limit=1", tokenA), HttpStatusCode.OK);
        page1["items"]!.AsArray().Single()!["id"]!.GetValue<Guid>().ShouldBe(second);
        var page2 = await JsonAsync(await MerchantAsync(HttpMethod.Get, "/merchant/v1/complaints?limit=1&cursor=" + page1["next_cursor"]!.GetValue<string>(), tokenA),
            HttpStatusCode.OK);
        page2["items"]!.AsArray().Single()!["id"]!.GetValue<Guid>().ShouldBe(first);
        page2["next_cursor"].ShouldBeNull();
        (await JsonAsync(await MerchantAsync(HttpMethod.Get, "/merchant/v1/complaints", tokenB), HttpStatusCode.OK))["items"]!.AsArray()
            .Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([other]);

        // Another merchant's complaint is not there, for reading as for answering.
        await (await MerchantAsync(HttpMethod.Get, $"/merchant/v1/complaints/{other}", tokenA)).ShouldBeProblemAsync(404, "not_found");
        await (await MerchantAsync(HttpMethod.Post, $"/merchant/v1/complaints/{other}/replies", tokenA, new { text = "不是我们的" })).ShouldBeProblemAsync(404, "not_found");
        await (await MerchantAsync(HttpMethod.Get, "/merchant/v1/complaints/nope", tokenA)).ShouldBeProblemAsync(404, "not_found");

        // A cashier answers; the user reads it as the merchant's; the complaint stays in support's queue (status unchanged).
        var cashier = await MerchantAccounts.AddStaffAsync(Http, tokenA, adminA.MerchantId, "cashier");
        var cashierToken = await MerchantAccounts.LoginAsync(Http, cashier);
        var replied = await JsonAsync(await MerchantAsync(HttpMethod.Post, $"/merchant/v1/complaints/{first}/replies", cashierToken, new { text = "非常抱歉，已联系店员" }),
            HttpStatusCode.Created);
        replied["replies"]!.AsArray().Single()!["from"]!.GetValue<string>().ShouldBe("merchant");
        replied["status"]!.GetValue<string>().ShouldBe("open");
        var mine = await buyer.GetJsonAsync($"/v1/complaints/{first}");
        var reply = mine["replies"]!.AsArray().Single()!;
        reply["from"]!.GetValue<string>().ShouldBe("merchant");
        reply["text"]!.GetValue<string>().ShouldBe("非常抱歉，已联系店员");
        (await Server.CountAsync("SELECT count(*) FROM domain_events WHERE stream = @s AND type = 'complaint.replied'", new { s = "complaint:" + first.ToString("N") }))
            .ShouldBe(1);
        // Support's reply beside it is support's.
        await JsonAsync(await Server.OperatorSendAsync(HttpMethod.Post, $"/admin/v1/complaints/{first}/replies", new { text = "客服已介入" }), HttpStatusCode.Created);
        var detail = await JsonAsync(await MerchantAsync(HttpMethod.Get, $"/merchant/v1/complaints/{first}", tokenA), HttpStatusCode.OK);
        detail["replies"]!.AsArray().Select(r => r!["from"]!.GetValue<string>()).ShouldBe(["merchant", "support"]);
        detail["status"]!.GetValue<string>().ShouldBe("in_progress");
        (await JsonAsync(await MerchantAsync(HttpMethod.Get, "/merchant/v1/complaints?status=in_progress", tokenA), HttpStatusCode.OK))["items"]!.AsArray()
            .Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([first]);

        // An analyst reads but cannot answer; bad input is a 400; a resolved complaint takes no more replies.
        var analyst = await MerchantAccounts.AddStaffAsync(Http, tokenA, adminA.MerchantId, "analyst");
        var analystToken = await MerchantAccounts.LoginAsync(Http, analyst);
        (await MerchantAsync(HttpMethod.Get, $"/merchant/v1/complaints/{first}", analystToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await MerchantAsync(HttpMethod.Post, $"/merchant/v1/complaints/{first}/replies", analystToken, new { text = "x" })).ShouldBeProblemAsync(403, "forbidden");
        await (await MerchantAsync(HttpMethod.Post, $"/merchant/v1/complaints/{first}/replies", tokenA, new { text = "  " })).ShouldBeProblemAsync(400, "invalid_text");
        await (await MerchantAsync(HttpMethod.Get, "/merchant/v1/complaints?status=angry", tokenA)).ShouldBeProblemAsync(400, "invalid_status");
        await (await MerchantAsync(HttpMethod.Get, "/merchant/v1/complaints?limit=0", tokenA)).ShouldBeProblemAsync(400, "invalid_limit");
        await (await MerchantAsync(HttpMethod.Get, "/merchant/v1/complaints?cursor=%%%", tokenA)).ShouldBeProblemAsync(400, "invalid_cursor");
        await JsonAsync(await Server.OperatorSendAsync(HttpMethod.Post, $"/admin/v1/complaints/{second}/resolve", new { decision = "reject", note = "已核实" }),
            HttpStatusCode.OK);
        await (await MerchantAsync(HttpMethod.Post, $"/merchant/v1/complaints/{second}/replies", tokenA, new { text = "晚了" })).ShouldBeProblemAsync(409, "complaint_closed");
        (await buyer.GetJsonAsync($"/v1/complaints/{second}"))["replies"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task A_merchant_lists_its_followers_and_messages_one_exactly_once_through_the_gateways_sending_path()
    {
        var (_, adminA, tokenA) = await Server.ShopAsync();
        var (_, adminB, tokenB) = await Server.ShopAsync();
        var fan = await Server.BuyerAsync(0, "张三丰");
        var fan2 = await Server.BuyerAsync(0, "Lee");
        var stranger = await Server.BuyerAsync(0, "路人");
        foreach (var user in new[] { fan, fan2 }) await FollowAsync(user, adminA.MerchantId);
        // The default quiet hours (22:00-08:00 China time) would hold the message whenever this runs at night.
        await SetQuietHoursAsync(fan, enabled: false);

        var list = await JsonAsync(await MerchantAsync(HttpMethod.Get, "/merchant/v1/followers", tokenA), HttpStatusCode.OK);
        list["count"]!.GetValue<long>().ShouldBe(2);
        list["items"]!.AsArray().Select(i => i!["user_id"]!.GetValue<Guid>()).Order().ShouldBe(new[] { fan.UserId, fan2.UserId }.Order());
        list["items"]!.AsArray().Select(i => i!["user_name"]!.GetValue<string>()).ShouldContain("**丰");
        var page1 = await JsonAsync(await MerchantAsync(HttpMethod.Get, "/merchant/v1/followers?limit=1", tokenA), HttpStatusCode.OK);
        page1["count"]!.GetValue<long>().ShouldBe(2);
        var page2 = await JsonAsync(await MerchantAsync(HttpMethod.Get, "/merchant/v1/followers?limit=1&cursor=" + page1["next_cursor"]!.GetValue<string>(), tokenA),
            HttpStatusCode.OK);
        page2["next_cursor"].ShouldBeNull();
        page1["items"]!.AsArray().Concat(page2["items"]!.AsArray()).Select(i => i!["user_id"]!.GetValue<Guid>()).Distinct().Count().ShouldBe(2);
        (await JsonAsync(await MerchantAsync(HttpMethod.Get, "/merchant/v1/followers", tokenB), HttpStatusCode.OK))["count"]!.GetValue<long>().ShouldBe(0);
        await (await MerchantAsync(HttpMethod.Get, "/merchant/v1/followers?cursor=zz", tokenA)).ShouldBeProblemAsync(400, "invalid_cursor");

        // The message: a service notification from the merchant in the fan's inbox; the same key again sends nothing more.
        var key = "msg-" + Guid.NewGuid().ToString("N");
        var message = new { title = "新品上市", body = "本周新品八折\n欢迎光临" };
        var path = $"/merchant/v1/followers/{fan.UserId}/messages";
        (await JsonAsync(await MerchantAsync(HttpMethod.Post, path, tokenA, message, key), HttpStatusCode.Created))["title"]!.GetValue<string>().ShouldBe("新品上市");
        (await MerchantAsync(HttpMethod.Post, path, tokenA, message, key)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var inbox = (await fan.GetJsonAsync("/v1/notifications?limit=100"))["items"]!.AsArray().Where(i => i!["title"]!.GetValue<string>() == "新品上市").ToList();
        inbox.Count.ShouldBe(1);
        inbox[0]!["category"]!.GetValue<string>().ShouldBe("service");
        inbox[0]!["type"]!.GetValue<string>().ShouldBe("merchant_message");
        inbox[0]!["body"]!.GetValue<string>().ShouldBe("本周新品八折\n欢迎光临");
        (await Server.CountAsync("SELECT count(*) FROM notifications WHERE sender_merchant_id = @m", new { m = adminA.MerchantId })).ShouldBe(1);

        // The key for another text or person is refused; a non-follower, another merchant's follower, no such user are 404.
        await (await MerchantAsync(HttpMethod.Post, path, tokenA, new { title = "别的", body = "x" }, key)).ShouldBeProblemAsync(422, "idempotency_key_reused");
        await (await MerchantAsync(HttpMethod.Post, $"/merchant/v1/followers/{fan2.UserId}/messages", tokenA, message, key))
            .ShouldBeProblemAsync(422, "idempotency_key_reused");
        await (await MerchantAsync(HttpMethod.Post, $"/merchant/v1/followers/{stranger.UserId}/messages", tokenA, message, "k-" + Guid.NewGuid()))
            .ShouldBeProblemAsync(404, "not_found");
        await (await MerchantAsync(HttpMethod.Post, path, tokenB, message, "k-" + Guid.NewGuid())).ShouldBeProblemAsync(404, "not_found");
        await (await MerchantAsync(HttpMethod.Post, $"/merchant/v1/followers/{Guid.NewGuid()}/messages", tokenA, message, "k-" + Guid.NewGuid()))
            .ShouldBeProblemAsync(404, "not_found");
        await (await MerchantAsync(HttpMethod.Post, path, tokenA, message)).ShouldBeProblemAsync(400, "idempotency_key_missing");
        await (await MerchantAsync(HttpMethod.Post, path, tokenA, new { title = "a\nb", body = "x" }, "k-" + Guid.NewGuid())).ShouldBeProblemAsync(400, "invalid_message");
        await (await MerchantAsync(HttpMethod.Post, path, tokenA, new { title = "a", body = "" }, "k-" + Guid.NewGuid())).ShouldBeProblemAsync(400, "invalid_message");
        // Sending is the admin's: a cashier reads the followers but cannot message them.
        var cashier = await MerchantAccounts.AddStaffAsync(Http, tokenA, adminA.MerchantId, "cashier");
        var cashierToken = await MerchantAccounts.LoginAsync(Http, cashier);
        (await MerchantAsync(HttpMethod.Get, "/merchant/v1/followers", cashierToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await MerchantAsync(HttpMethod.Post, path, cashierToken, message, "k-" + Guid.NewGuid())).ShouldBeProblemAsync(403, "forbidden");

        // Quiet hours hold it as they hold the gateway's (accepted, held for the inbox).
        await SetQuietHoursAsync(fan2, enabled: true);
        (await MerchantAsync(HttpMethod.Post, $"/merchant/v1/followers/{fan2.UserId}/messages", tokenA, new { title = "夜间消息", body = "晚安" }, "k-" + Guid.NewGuid()))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        if (DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)) is not { Hour: 23, Minute: 59 })
            (await Server.CountAsync($"""
                SELECT count(*) FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id
                WHERE n.user_id = @u AND n.title = '夜间消息' AND d.decision = {(short)DeliveryDecision.Held}
                """, new { u = fan2.UserId })).ShouldBe(1);

        // Unfollowed: no more messages.
        using (var unfollow = new HttpRequestMessage(HttpMethod.Delete, $"/v1/merchants/{adminA.MerchantId}/follow"))
        {
            unfollow.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fan.Token);
            (await fan.Http.SendAsync(unfollow)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        await (await MerchantAsync(HttpMethod.Post, path, tokenA, new { title = "再见", body = "x" }, "k-" + Guid.NewGuid())).ShouldBeProblemAsync(404, "not_found");
    }

    [Fact]
    public async Task Concurrent_native_sends_reusing_one_idempotency_key_send_exactly_once()
    {
        var (_, admin, token) = await Server.ShopAsync();
        var people = new List<WalletClient>();
        for (var i = 0; i < 6; i++)
        {
            var who = await Server.BuyerAsync(0);
            await FollowAsync(who, admin.MerchantId);
            await SetQuietHoursAsync(who, enabled: false);
            people.Add(who);
        }
        async Task<HttpResponseMessage[]> RaceAsync(Func<int, (Guid To, string Title)> message, string key)
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var tasks = Enumerable.Range(0, people.Count).Select(i => Task.Run(async () =>
            {
                await gate.Task;
                var (to, title) = message(i);
                return await MerchantAsync(HttpMethod.Post, $"/merchant/v1/followers/{to}/messages", token, new { title, body = "x" }, key);
            })).ToArray();
            gate.SetResult();
            return await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
        }
        async Task<int> ReceivedAsync(WalletClient who, string title) =>
            (await who.GetJsonAsync("/v1/notifications?limit=100"))["items"]!.AsArray().Count(i => i!["title"]!.GetValue<string>() == title);

        for (var round = 0; round < 3; round++)
        {
            // One key for six different people at once: one is sent (201), the others are refused as a reused key.
            var title = "抢先" + round;
            var answers = await RaceAsync(i => (people[i].UserId, title), "race-" + Guid.NewGuid().ToString("N"));
            var codes = string.Join(", ", answers.Select(a => (int)a.StatusCode));
            answers.Count(a => a.StatusCode == HttpStatusCode.Created).ShouldBe(1, codes);
            foreach (var refused in answers.Where(a => a.StatusCode != HttpStatusCode.Created))
                await refused.ShouldBeProblemAsync(422, "idempotency_key_reused");
            (await Server.CountAsync("SELECT count(*) FROM notifications WHERE sender_merchant_id = @m AND title = @t",
                new { m = admin.MerchantId, t = title })).ShouldBe(1);
            var received = 0;
            foreach (var who in people) received += await ReceivedAsync(who, title);
            received.ShouldBe(1);

            // One key for the same message to one person at once: one 201, the others the stored answer (200), one message.
            var same = "同一条" + round;
            var repeats = await RaceAsync(_ => (people[round].UserId, same), "same-" + Guid.NewGuid().ToString("N"));
            repeats.Count(a => a.StatusCode == HttpStatusCode.Created).ShouldBe(1, string.Join(", ", repeats.Select(a => (int)a.StatusCode)));
            repeats.Count(a => a.StatusCode == HttpStatusCode.OK).ShouldBe(people.Count - 1);
            (await ReceivedAsync(people[round], same)).ShouldBe(1);
        }
    }

    private static async Task FollowAsync(WalletClient user, Guid merchantId)
    {
        var response = await user.PostAsync($"/v1/merchants/{merchantId}/follow", new { });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static async Task SetQuietHoursAsync(WalletClient user, bool enabled)
    {
        var document = new
        {
            categories = new Dictionary<string, object>
            {
                ["security"] = new { in_app = true, sms = true, email = true }, ["transaction"] = new { in_app = true, sms = false, email = false },
                ["marketing"] = new { in_app = false, sms = false, email = false }, ["service"] = new { in_app = true, sms = false, email = false },
            },
            quiet_hours = new { enabled, start = "00:00", end = "23:59" }, time_zone = "Asia/Shanghai", locale = "zh-CN",
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

public sealed class SqliteMerchantComplaintsAndFollowersTests(SqliteGatewayServer server) : MerchantComplaintsAndFollowersTests<SqliteGatewayServer>(server);

public sealed class PostgresMerchantComplaintsAndFollowersTests(PostgresGatewayServer server) : MerchantComplaintsAndFollowersTests<PostgresGatewayServer>(server);
