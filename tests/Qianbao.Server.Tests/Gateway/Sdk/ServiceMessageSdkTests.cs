using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// Merchant service messages (服务窗) through the official alipay-sdk, unchanged (answers' signatures verified): only a
/// follower receives them (paying does not follow; a non-follower is PUB.USER_NOT_FOLLOW), as service notifications
/// subject to quiet hours and to the person's spam block of the merchant. Both engines.
/// </summary>
public abstract class ServiceMessageSdkTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private static object Message(string toUserId, string first = "订单已发货") => new
    {
        to_user_id = toUserId,
        template = new
        {
            template_id = "e44cd3e52ffa46b1a50afc145f55d1ea",
            context = new
            {
                head_color = "#85be53", url = "https://shop.example.com/orders/1", action_name = "查看详情",
                first = new { color = "#85be53", value = first },
                keyword1 = new { color = "#85be53", value = "顺丰 SF1234" },
                keyword2 = new { color = "#85be53", value = "明天送达" },
                remark = new { color = "#85be53", value = "感谢惠顾" },
            },
        },
    };

    private static async Task<HttpResponseMessage> SendAsync(WalletClient user, HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.Token);
        if (method == HttpMethod.Post)
        {
            request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }
        return await user.Http.SendAsync(request);
    }

    private static async Task<List<JsonNode>> ServiceInboxAsync(WalletClient user) =>
        (await user.GetJsonAsync("/v1/notifications?limit=100"))["items"]!.AsArray().Where(i => i!["category"]!.GetValue<string>() == "service").Select(i => i!).ToList();

    private static async Task SetQuietHoursAsync(WalletClient user, bool enabled)
    {
        var document = new
        {
            categories = new Dictionary<string, object>
            {
                ["security"] = new { in_app = true, sms = true, email = true }, ["transaction"] = new { in_app = true, sms = false, email = false },
                ["marketing"] = new { in_app = false, sms = false, email = false }, ["service"] = new { in_app = true, sms = false, email = false },
            },
            // 00:00–23:59: every minute but the last of the day is quiet.
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

    private static void Business(JsonObject answer, string subCode)
    {
        answer["code"]!.GetValue<string>().ShouldBe("40004", answer.ToJsonString());
        answer["subCode"]!.GetValue<string>().ShouldBe(subCode, answer.ToJsonString());
    }

    [Fact]
    public async Task Only_a_follower_receives_service_messages_subject_to_quiet_hours_and_a_spam_block()
    {
        var sdk = await server.SdkAsync();
        var app = await server.CreateMerchantWithAppAsync(0);
        await sdk.RegisterAsync(app.AppId, app.AppId, SdkKeys.PrivatePkcs1(SdkKeys.App), app.PlatformPublicKey);
        var buyer = await server.BuyerAsync(10_000);
        var userId = buyer.UserId.ToString("N");
        const string method = "alipay.open.public.message.single.send";

        // Paying the merchant does not follow it.
        var precreated = await sdk.ExecAsync(app.AppId, "alipay.trade.precreate", new { out_trade_no = "S-" + Guid.NewGuid().ToString("N"), total_amount = "1.00", subject = "咖啡" });
        (await buyer.PostAsync("/v1/qr-payments", new { qr_code = precreated["qrCode"]!.GetValue<string>() })).StatusCode.ShouldBe(HttpStatusCode.OK);
        Business(await sdk.ExecAsync(app.AppId, method, Message(userId)), "PUB.USER_NOT_FOLLOW");
        Business(await sdk.ExecAsync(app.AppId, method, Message(Guid.NewGuid().ToString("N"))), "USER_NOT_EXIST");
        (await sdk.ExecAsync(app.AppId, method, new { to_user_id = userId }))["code"]!.GetValue<string>().ShouldBe("40001");

        (await SendAsync(buyer, HttpMethod.Post, $"/v1/merchants/{Guid.NewGuid()}/follow")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var follow = await SendAsync(buyer, HttpMethod.Post, $"/v1/merchants/{app.MerchantId}/follow");
        follow.StatusCode.ShouldBe(HttpStatusCode.OK, await follow.Content.ReadAsStringAsync());
        (await SendAsync(buyer, HttpMethod.Post, $"/v1/merchants/{app.MerchantId}/follow")).StatusCode.ShouldBe(HttpStatusCode.OK); // idempotent
        (await server.Services.GetRequiredService<MerchantFollows>().FollowersAsync(app.MerchantId, null, 100, CancellationToken.None)).ShouldBe([buyer.UserId]);

        // Quiet hours hold a service message (accepted, not in the inbox yet).
        await SetQuietHoursAsync(buyer, enabled: true);
        var held = await sdk.ExecAsync(app.AppId, method, Message(userId, "夜间消息"));
        held["code"]!.GetValue<string>().ShouldBe("10000", held.ToJsonString());
        var decision = await QueryAsync<short>("""
            SELECT d.decision FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id
            WHERE n.user_id = @u AND n.title = '夜间消息'
            """, new { u = buyer.UserId });
        if (DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)) is not { Hour: 23, Minute: 59 })
            decision.ShouldBe((short)DeliveryDecision.Held);

        await SetQuietHoursAsync(buyer, enabled: false);
        var sent = await sdk.ExecAsync(app.AppId, method, Message(userId));
        sent["code"]!.GetValue<string>().ShouldBe("10000", sent.ToJsonString());
        var item = (await ServiceInboxAsync(buyer)).Single(i => i["title"]!.GetValue<string>() == "订单已发货");
        item["type"]!.GetValue<string>().ShouldBe("merchant_message");
        item["body"]!.GetValue<string>().ShouldBe("顺丰 SF1234\n明天送达\n感谢惠顾");
        item["action"]!["url"]!.GetValue<string>().ShouldBe("https://shop.example.com/orders/1");

        // Marked as spam: the merchant's next message is accepted but reaches nobody.
        var spam = await buyer.PostAsync($"/v1/notifications/{item["id"]!.GetValue<Guid>()}/feedback", new { reason = "spam" });
        spam.StatusCode.ShouldBe(HttpStatusCode.OK, await spam.Content.ReadAsStringAsync());
        (await sdk.ExecAsync(app.AppId, method, Message(userId, "又一条")))["code"]!.GetValue<string>().ShouldBe("10000");
        (await ServiceInboxAsync(buyer)).ShouldNotContain(i => i["title"]!.GetValue<string>() == "又一条");

        // Unfollowed: refused again (another text: the same one signed in the same second would be a repeat of `sent`).
        (await SendAsync(buyer, HttpMethod.Delete, $"/v1/merchants/{app.MerchantId}/follow")).StatusCode.ShouldBe(HttpStatusCode.OK);
        Business(await sdk.ExecAsync(app.AppId, method, Message(userId, "取消关注后")), "PUB.USER_NOT_FOLLOW");
    }

    [Fact]
    public async Task The_same_out_biz_no_or_the_same_signed_request_sends_once_and_a_reused_key_is_refused()
    {
        var sdk = await server.SdkAsync();
        var app = await server.CreateMerchantWithAppAsync(0);
        await sdk.RegisterAsync(app.AppId, app.AppId, SdkKeys.PrivatePkcs1(SdkKeys.App), app.PlatformPublicKey);
        var buyer = await server.BuyerAsync(0);
        var other = await server.BuyerAsync(0);
        foreach (var who in new[] { buyer, other })
        {
            (await SendAsync(who, HttpMethod.Post, $"/v1/merchants/{app.MerchantId}/follow")).StatusCode.ShouldBe(HttpStatusCode.OK);
            await SetQuietHoursAsync(who, enabled: false); // in the inbox at once, whatever the hour
        }
        const string method = "alipay.open.public.message.single.send";
        static object Keyed(string to, string first, string? outBizNo)
        {
            var node = JsonSerializer.SerializeToNode(Message(to, first))!.AsObject();
            node["out_biz_no"] = outBizNo;
            return node;
        }

        // The same out_biz_no twice (the official SDK, a new signature each time): one message.
        var outBizNo = "SM-" + Guid.NewGuid().ToString("N");
        for (var i = 0; i < 3; i++)
            (await sdk.ExecAsync(app.AppId, method, Keyed(buyer.UserId.ToString("N"), "已发货", outBizNo)))["code"]!.GetValue<string>().ShouldBe("10000");
        (await ServiceInboxAsync(buyer)).Count(m => m["title"]!.GetValue<string>() == "已发货").ShouldBe(1);
        // Reused for another text or another person: refused, nothing sent.
        Business(await sdk.ExecAsync(app.AppId, method, Keyed(buyer.UserId.ToString("N"), "已签收", outBizNo)), "ACQ.CONTEXT_INCONSISTENT");
        Business(await sdk.ExecAsync(app.AppId, method, Keyed(other.UserId.ToString("N"), "已发货", outBizNo)), "ACQ.CONTEXT_INCONSISTENT");
        (await ServiceInboxAsync(other)).ShouldBeEmpty();
        (await ServiceInboxAsync(buyer)).Count.ShouldBe(1);
        // Another merchant's key space is its own.
        var app2 = await server.CreateMerchantWithAppAsync(0);
        await sdk.RegisterAsync(app2.AppId, app2.AppId, SdkKeys.PrivatePkcs1(SdkKeys.App), app2.PlatformPublicKey);
        (await SendAsync(other, HttpMethod.Post, $"/v1/merchants/{app2.MerchantId}/follow")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await sdk.ExecAsync(app2.AppId, method, Keyed(other.UserId.ToString("N"), "已发货", outBizNo)))["code"]!.GetValue<string>().ShouldBe("10000");
        (await ServiceInboxAsync(other)).Count.ShouldBe(1);
        (await sdk.ExecAsync(app.AppId, method, Keyed(buyer.UserId.ToString("N"), "已发货", new string('x', 65))))["code"]!.GetValue<string>().ShouldBe("40002");

        // Without out_biz_no: the same signed request sent twice (a retry, a replay) is one message; a new request is another.
        var caller = server.Caller(app);
        var signed = caller.Sign(caller.Parameters(method, Message(buyer.UserId.ToString("N"), "到店提醒")));
        (await caller.SendAsync(method, signed)).ShouldBe("10000");
        (await caller.SendAsync(method, signed)).ShouldBe("10000");
        (await ServiceInboxAsync(buyer)).Count(m => m["title"]!.GetValue<string>() == "到店提醒").ShouldBe(1);
        var again = new Dictionary<string, string>(caller.Parameters(method, Message(buyer.UserId.ToString("N"), "到店提醒")))
        {
            ["timestamp"] = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).AddSeconds(-2).ToString("yyyy-MM-dd HH:mm:ss"),
        };
        (await caller.SendAsync(method, caller.Sign(again))).ShouldBe("10000");
        (await ServiceInboxAsync(buyer)).Count(m => m["title"]!.GetValue<string>() == "到店提醒").ShouldBe(2);
    }

    [Fact]
    public async Task Concurrent_sends_reusing_one_out_biz_no_send_exactly_once()
    {
        var app = await server.CreateMerchantWithAppAsync(0);
        var caller = server.Caller(app);
        var people = new List<WalletClient>();
        for (var i = 0; i < 6; i++)
        {
            var who = await server.BuyerAsync(0);
            (await SendAsync(who, HttpMethod.Post, $"/v1/merchants/{app.MerchantId}/follow")).StatusCode.ShouldBe(HttpStatusCode.OK);
            await SetQuietHoursAsync(who, enabled: false);
            people.Add(who);
        }
        const string method = "alipay.open.public.message.single.send";
        object Keyed(WalletClient to, string first, string outBizNo)
        {
            var node = JsonSerializer.SerializeToNode(Message(to.UserId.ToString("N"), first))!.AsObject();
            node["out_biz_no"] = outBizNo;
            return node;
        }
        async Task<GatewayAnswer[]> RaceAsync(Func<int, object> biz)
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var tasks = Enumerable.Range(0, people.Count).Select(i => Task.Run(async () =>
            {
                await gate.Task;
                return await caller.CallAsync(method, biz(i));
            })).ToArray();
            gate.SetResult();
            return await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
        }

        for (var round = 0; round < 3; round++)
        {
            // One key for six different people at once: one is sent, the others are refused.
            var key = "SM-RACE-" + Guid.NewGuid().ToString("N");
            var answers = await RaceAsync(i => Keyed(people[i], "抢先" + round, key));
            answers.Count(a => a.Code == "10000").ShouldBe(1, string.Join("\n", answers.Select(a => a.Raw)));
            answers.Where(a => a.Code != "10000").ShouldAllBe(a => a.Code == "40004" && a.SubCode == "ACQ.CONTEXT_INCONSISTENT");
            (await QueryAsync<long>("SELECT COUNT(*) FROM notifications WHERE sender_merchant_id = @m AND title = @t",
                new { m = app.MerchantId, t = "抢先" + round })).ShouldBe(1);
            var received = 0;
            foreach (var who in people) received += (await ServiceInboxAsync(who)).Count(m => m["title"]!.GetValue<string>() == "抢先" + round);
            received.ShouldBe(1);

            // One key for the same message to one person at once: every call succeeds, one message.
            var same = "SM-SAME-" + Guid.NewGuid().ToString("N");
            (await RaceAsync(_ => Keyed(people[round], "同一条" + round, same))).ShouldAllBe(a => a.Code == "10000");
            (await ServiceInboxAsync(people[round])).Count(m => m["title"]!.GetValue<string>() == "同一条" + round).ShouldBe(1);
        }
    }

    private async Task<T> QueryAsync<T>(string sql, object args)
    {
        await using var connection = await server.Services.GetRequiredService<Db>().OpenAsync();
        return await connection.QuerySingleAsync<T>(sql, args);
    }
}

public sealed class SqliteServiceMessageSdkTests(SqliteGatewayServer server) : ServiceMessageSdkTests<SqliteGatewayServer>(server);

public sealed class PostgresServiceMessageSdkTests(PostgresGatewayServer server) : ServiceMessageSdkTests<PostgresGatewayServer>(server);
