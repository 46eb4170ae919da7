using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Modules.Notifications.Campaigns;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>
/// Messaging campaigns on a real database: a scripted population where one variant converts clearly better gets the winner,
/// equal variants none; the holdout receives nothing; consent and caps decide who receives; a later send_at is sent by a
/// scheduler pass; the action claims a coupon once; validation answers stable codes.
/// </summary>
public abstract class MessagingCampaignTests<THost>(THost host) : IClassFixture<THost> where THost : NotificationHost
{
    private readonly HttpClient http = host.CreateClient();
    private Db Db => host.Services.GetRequiredService<Db>();

    private static readonly NotificationPreferences Consented = new(1, 1, 1, new QuietHours(false, 0, 0), NotificationPreferences.DefaultTimeZone);

    private async Task<HttpResponseMessage> OperatorAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.OperatorKey);
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        if (body is not null) request.Content = JsonContent.Create(body);
        return await http.SendAsync(request);
    }

    private static async Task<JsonObject> JsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>
    /// <paramref name="count"/> people written straight into the users table, registered inside a range of their own (the
    /// campaign's segment), with the given notification settings (null: the defaults, no marketing consent).
    /// </summary>
    private async Task<(List<Guid> Users, DateTimeOffset From, DateTimeOffset To)> PopulationAsync(int count, Func<int, NotificationPreferences?> settings)
    {
        var from = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(Random.Shared.Next(0, 5_000_000));
        var users = new List<Guid>();
        await using var connection = await Db.OpenAsync();
        await using var tx = await Db.BeginWriteAsync(connection, CancellationToken.None);
        for (var i = 0; i < count; i++)
        {
            var id = Guid.NewGuid();
            users.Add(id);
            await connection.ExecuteAsync("""
                INSERT INTO users (id, phone, name, password_hash, created_at_us, locale) VALUES (@id, @phone, 'x', 'x', @at, 'en')
                """, new { id, phone = "pop-" + id.ToString("N"), at = from.AddSeconds(i).ToUnixMicroseconds() }, tx);
            if (settings(i) is { } p) await NotificationSettings.WriteAsync(connection, tx, id, p, "en", 0, CancellationToken.None);
        }
        await tx.CommitAsync();
        return (users, from, from.AddSeconds(count));
    }

    private static object Segment(DateTimeOffset from, DateTimeOffset to) => new { registered_from = from, registered_to = to };

    private static object Campaign(object segment, int holdoutBps, string conversion = "payment", object? actionA = null, object? actionB = null,
        DateTimeOffset? sendAt = null) => new
    {
        name = "Spring offer",
        segment,
        channels = new[] { "in_app" },
        variants = new object[]
        {
            new { key = "a", weight = 1, title = "Half price", body = "Half price at Corner Shop", action = actionA },
            new { key = "b", weight = 1, title = "10% off", body = "10% off at Corner Shop", action = actionB },
        },
        holdout_bps = holdoutBps,
        send_at = sendAt,
        conversion = new { @event = conversion, window_hours = 72 },
    };

    private async Task<Guid> CreateAsync(object body) =>
        (await JsonAsync(await OperatorAsync(HttpMethod.Post, "/admin/v1/messaging/campaigns", body), HttpStatusCode.Created))["id"]!.GetValue<Guid>();

    /// <summary>Starts (202 at once: the send is the scheduler's) and runs a scheduler pass, as the woken scheduler would.</summary>
    private async Task<JsonObject> StartAsync(Guid id)
    {
        var started = await JsonAsync(await OperatorAsync(HttpMethod.Post, $"/admin/v1/messaging/campaigns/{id}/start"), HttpStatusCode.Accepted);
        await host.Services.GetRequiredService<CampaignSender>().SendDueAsync(CancellationToken.None);
        return started;
    }

    private async Task<JsonObject> ResultsAsync(Guid id) =>
        await JsonAsync(await OperatorAsync(HttpMethod.Get, $"/admin/v1/messaging/campaigns/{id}/results"), HttpStatusCode.OK);

    private async Task<List<(Guid UserId, string? Variant, Guid? NotificationId)>> MembersAsync(Guid campaignId)
    {
        await using var connection = await Db.OpenAsync();
        return (await connection.QueryAsync<(Guid, string?, Guid?)>(
            """
            SELECT m.user_id, m.variant, n.id FROM messaging_campaign_members m
            LEFT JOIN notifications n ON n.user_id = m.user_id AND n.dedupe_key = @dedupe
            WHERE m.campaign_id = @campaignId ORDER BY m.user_id
            """, new { campaignId, dedupe = CampaignSender.DedupeKey(campaignId) })).AsList();
    }

    /// <summary>Every <paramref name="every"/>-th member of the arm pays a minute from now (inside the conversion window).</summary>
    private async Task ConvertAsync(IEnumerable<Guid> arm, int every)
    {
        var at = host.Clock.GetUtcNow().AddMinutes(1).ToUnixMicroseconds();
        await using var connection = await Db.OpenAsync();
        var i = 0;
        foreach (var user in arm)
        {
            if (i++ % every != 0) continue;
            await connection.ExecuteAsync("""
                INSERT INTO messaging_payments (trade_no, user_id, merchant_id, amount_minor, paid_at_us) VALUES (@tradeNo, @user, @merchant, 1000, @at)
                """, new { tradeNo = "T" + Guid.NewGuid().ToString("N"), user, merchant = Guid.NewGuid(), at });
        }
    }

    private static JsonObject Variant(JsonObject results, string key) =>
        results["variants"]!.AsArray().Single(v => v!["key"]!.GetValue<string>() == key)!.AsObject();

    [Fact]
    public async Task A_clearly_better_variant_wins_with_a_small_p_value_and_the_holdout_receives_nothing()
    {
        var (users, from, to) = await PopulationAsync(1000, _ => Consented);
        var id = await CreateAsync(Campaign(Segment(from, to), holdoutBps: 2000));
        var started = await StartAsync(id);
        started["audience"]!.GetValue<int>().ShouldBe(1000);
        var holdoutCount = started["holdout"]!.GetValue<int>();
        holdoutCount.ShouldBeInRange(150, 250);
        started["scheduled"]!.GetValue<int>().ShouldBe(1000 - holdoutCount);

        var members = await MembersAsync(id);
        members.Count.ShouldBe(1000);
        members.Where(m => m.Variant is null).ShouldAllBe(m => m.NotificationId == null);
        members.Where(m => m.Variant is not null).ShouldAllBe(m => m.NotificationId != null);
        await using (var connection = await Db.OpenAsync())
        {
            var holdoutIds = members.Where(m => m.Variant is null).Select(m => m.UserId).ToList();
            var (userIn, ids) = Db.IdIn("user_id", holdoutIds);
            (await connection.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM notifications WHERE {userIn}", new { ids })).ShouldBe(0);
        }

        await ConvertAsync(members.Where(m => m.Variant == "a").Select(m => m.UserId), every: 2);
        await ConvertAsync(members.Where(m => m.Variant == "b").Select(m => m.UserId), every: 10);
        await ConvertAsync(members.Where(m => m.Variant is null).Select(m => m.UserId), every: 20);

        var results = await ResultsAsync(id);
        var a = Variant(results, "a");
        var b = Variant(results, "b");
        a["recipients"]!.GetValue<int>().ShouldBe(members.Count(m => m.Variant == "a"));
        a["delivered"]!.GetValue<int>().ShouldBe(a["recipients"]!.GetValue<int>());
        a["conversion_rate"]!.GetValue<double>().ShouldBe(0.5, 0.01);
        b["conversion_rate"]!.GetValue<double>().ShouldBe(0.1, 0.01);
        results["holdout"]!["users"]!.GetValue<int>().ShouldBe(holdoutCount);
        results["holdout"]!["conversion_rate"]!.GetValue<double>().ShouldBe(0.05, 0.01);
        a["lift"]!.GetValue<double>().ShouldBeGreaterThan(5);
        results["winner"]!.GetValue<string>().ShouldBe("a");
        results["p_value_vs_next"]!.GetValue<double>().ShouldBeLessThan(1e-6);
        results["p_value_vs_holdout"]!.GetValue<double>().ShouldBeLessThan(1e-6);

        // Opens and clicks are people: one reads, one clicks twice.
        var reader = members.First(m => m.Variant == "a");
        await using (var connection = await Db.OpenAsync())
            await connection.ExecuteAsync("UPDATE notifications SET read_at_us = 1, clicked_at_us = 1 WHERE id = @id", new { id = reader.NotificationId });
        var again = Variant(await ResultsAsync(id), "a");
        again["opened"]!.GetValue<int>().ShouldBe(1);
        again["clicked"]!.GetValue<int>().ShouldBe(1);

        // Started once: a second start is refused and changes nothing.
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/messaging/campaigns/{id}/start")).ShouldBeProblemAsync(409, "campaign_already_started");
        (await MembersAsync(id)).Count.ShouldBe(1000);
    }

    [Fact]
    public async Task Equal_variants_have_no_winner()
    {
        var (_, from, to) = await PopulationAsync(600, _ => Consented);
        var id = await CreateAsync(Campaign(Segment(from, to), holdoutBps: 1000));
        await StartAsync(id);
        var members = await MembersAsync(id);
        await ConvertAsync(members.Where(m => m.Variant == "a").Select(m => m.UserId), every: 5);
        await ConvertAsync(members.Where(m => m.Variant == "b").Select(m => m.UserId), every: 5);
        var results = await ResultsAsync(id);
        results.ContainsKey("winner").ShouldBeTrue();
        results["winner"].ShouldBeNull();
        results["p_value_vs_next"]!.GetValue<double>().ShouldBeGreaterThan(0.5);
        results["holdout"]!["converted"]!.GetValue<int>().ShouldBe(0);
        Variant(results, "a").ContainsKey("lift").ShouldBeTrue();
    }

    [Fact]
    public async Task Consent_and_caps_decide_who_receives_and_are_recorded()
    {
        // 0-1: no consent; 2-3: consent; 4-5: consent but already at today's marketing cap.
        var (users, from, to) = await PopulationAsync(6, i => i < 2 ? null : Consented);
        var notifier = host.Services.GetRequiredService<Notifier>();
        foreach (var user in users.Skip(4))
            for (var n = 0; n < 2; n++)
            {
                await using var connection = await Db.OpenAsync();
                await using var tx = await Db.BeginWriteAsync(connection, CancellationToken.None);
                var earlier = await notifier.NotifyAsync(connection, tx, new NotificationRequest(user, NotificationCategory.Marketing, "offer",
                    "offer:" + Guid.NewGuid(), Title: "Earlier", Body: "Earlier offer"), CancellationToken.None);
                earlier.Status.ShouldBe(NotificationStatus.Inbox);
                await tx.CommitAsync();
            }

        var id = await CreateAsync(Campaign(Segment(from, to), holdoutBps: 0));
        var started = await StartAsync(id);
        started["audience"]!.GetValue<int>().ShouldBe(6);
        started["holdout"]!.GetValue<int>().ShouldBe(0);
        started["scheduled"]!.GetValue<int>().ShouldBe(2);

        await using (var connection = await Db.OpenAsync())
        {
            var statuses = (await connection.QueryAsync<(Guid, short)>(
                "SELECT user_id, status FROM notifications WHERE campaign_id = @id", new { id })).ToDictionary(r => r.Item1, r => (NotificationStatus)r.Item2);
            statuses[users[0]].ShouldBe(NotificationStatus.Suppressed);
            statuses[users[1]].ShouldBe(NotificationStatus.Suppressed);
            statuses[users[2]].ShouldBe(NotificationStatus.Inbox);
            statuses[users[3]].ShouldBe(NotificationStatus.Inbox);
            statuses[users[4]].ShouldBe(NotificationStatus.Capped);
            statuses[users[5]].ShouldBe(NotificationStatus.Capped);
        }
        var results = await ResultsAsync(id);
        var variants = results["variants"]!.AsArray();
        variants.Sum(v => v!["capped"]!.GetValue<int>()).ShouldBe(2);
        variants.Sum(v => v!["delivered"]!.GetValue<int>()).ShouldBe(2);
        variants.Sum(v => v!["recipients"]!.GetValue<int>()).ShouldBe(6);
    }

    [Fact]
    public async Task A_later_send_at_is_sent_by_a_scheduler_pass_when_due()
    {
        var (_, from, to) = await PopulationAsync(5, _ => Consented);
        var id = await CreateAsync(Campaign(Segment(from, to), holdoutBps: 0, sendAt: host.Clock.GetUtcNow().AddHours(1)));
        var started = await StartAsync(id);
        started["audience"]!.GetValue<int>().ShouldBe(5);
        var sender = host.Services.GetRequiredService<CampaignSender>();
        await sender.SendIfDueAsync(id, CancellationToken.None);
        (await MembersAsync(id)).ShouldAllBe(m => m.NotificationId == null);

        host.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        await sender.SendDueAsync(CancellationToken.None);
        (await MembersAsync(id)).ShouldAllBe(m => m.NotificationId != null);
        var campaign = await JsonAsync(await OperatorAsync(HttpMethod.Get, $"/admin/v1/messaging/campaigns/{id}"), HttpStatusCode.OK);
        campaign["status"]!.GetValue<string>().ShouldBe("sent");
        campaign["scheduled"]!.GetValue<int>().ShouldBe(5);
        // A second pass notifies nobody again.
        await sender.SendDueAsync(CancellationToken.None);
        await using var connection = await Db.OpenAsync();
        (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM notifications WHERE campaign_id = @id", new { id })).ShouldBe(5);
    }

    [Fact]
    public async Task The_action_claims_the_coupon_once_however_often_it_is_called_and_counts_as_a_conversion()
    {
        var couponCampaign = (await JsonAsync(await OperatorAsync(HttpMethod.Post, "/admin/v1/campaigns", new
        {
            name = "新人立减",
            kind = "coupon",
            funding = new { source = "platform" },
            budget = new { amount = 10_000, currency = "CNY" },
            starts_at = host.Clock.GetUtcNow().AddMinutes(-5),
            ends_at = host.Clock.GetUtcNow().AddDays(60),
            coupon = new { type = "fixed", amount = 500, stock = 10, valid_days = 7 },
        }), HttpStatusCode.Created))["id"]!.GetValue<Guid>();

        var from = host.Clock.GetUtcNow().AddSeconds(-1);
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        await using (var connection = await Db.OpenAsync())
        await using (var tx = await Db.BeginWriteAsync(connection, CancellationToken.None))
        {
            await NotificationSettings.WriteAsync(connection, tx, user.UserId, Consented, "en", 0, CancellationToken.None);
            await tx.CommitAsync();
        }
        var action = new { type = "claim_coupon", campaign_id = couponCampaign };
        var id = await CreateAsync(Campaign(new { registered_from = from, registered_to = host.Clock.GetUtcNow().AddSeconds(1) }, 0, "coupon_claimed", action, action));
        (await StartAsync(id))["scheduled"]!.GetValue<int>().ShouldBe(1);

        var item = (await user.GetJsonAsync("/v1/notifications"))["items"]!.AsArray().Single(i => i!["category"]!.GetValue<string>() == "marketing")!;
        item["action"]!["type"]!.GetValue<string>().ShouldBe("claim_coupon");
        var notificationId = item["id"]!.GetValue<Guid>();
        var first = await JsonAsync(await user.PostAsync($"/v1/notifications/{notificationId}/action", new { }, pin: null), HttpStatusCode.OK);
        first["result"]!.GetValue<string>().ShouldBe("claimed");
        var second = await JsonAsync(await user.PostAsync($"/v1/notifications/{notificationId}/action", new { }, pin: null), HttpStatusCode.OK);
        second["coupon_id"]!.GetValue<Guid>().ShouldBe(first["coupon_id"]!.GetValue<Guid>());
        (await user.GetJsonAsync("/v1/coupons"))["items"]!.AsArray().Count(c => c!["campaign_id"]!.GetValue<Guid>() == couponCampaign).ShouldBe(1);

        var results = await ResultsAsync(id);
        var variants = results["variants"]!.AsArray();
        variants.Sum(v => v!["clicked"]!.GetValue<int>()).ShouldBe(1);
        variants.Sum(v => v!["converted"]!.GetValue<int>()).ShouldBe(1);

        // Someone else's notification is not theirs to act on.
        var other = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        await (await other.PostAsync($"/v1/notifications/{notificationId}/action", new { }, pin: null)).ShouldBeProblemAsync(404, "not_found");
    }

    [Fact]
    public async Task Invalid_campaigns_and_segments_are_refused_with_stable_codes_and_the_preview_counts()
    {
        var (_, from, to) = await PopulationAsync(3, _ => null);
        var good = Campaign(Segment(from, to), 0);
        var node = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(good))!.AsObject();
        async Task RefusedAsync(Action<JsonObject> change, string code)
        {
            var copy = node.DeepClone().AsObject();
            change(copy);
            await (await OperatorAsync(HttpMethod.Post, "/admin/v1/messaging/campaigns", copy)).ShouldBeProblemAsync(400, code);
        }
        await RefusedAsync(c => c["name"] = "", "invalid_messaging_campaign");
        await RefusedAsync(c => c["channels"] = new JsonArray("pigeon"), "invalid_messaging_campaign");
        await RefusedAsync(c => c["holdout_bps"] = 9500, "invalid_messaging_campaign");
        await RefusedAsync(c => c["segment"] = new JsonObject { ["tiers"] = new JsonArray("gold") }, "invalid_segment");
        await RefusedAsync(c => c["segment"] = new JsonObject { ["colour"] = "red" }, "invalid_segment");
        await RefusedAsync(c => c["variants"] = new JsonArray(), "invalid_variants");
        await RefusedAsync(c => c["variants"]![0]!["weight"] = 0, "invalid_variants");
        await RefusedAsync(c => c["variants"]![1]!["key"] = "a", "invalid_variants");
        await RefusedAsync(c => c["variants"]![0]!["action"] = new JsonObject { ["type"] = "open_url", ["url"] = "javascript:alert(1)" }, "invalid_variants");
        await RefusedAsync(c => c["conversion"] = new JsonObject { ["event"] = "dance" }, "invalid_conversion");
        await RefusedAsync(c => c["conversion"]!["window_hours"] = 0, "invalid_conversion");

        var preview = await JsonAsync(await OperatorAsync(HttpMethod.Post, "/admin/v1/messaging/segments/preview", new { segment = Segment(from, to) }), HttpStatusCode.OK);
        preview["count"]!.GetValue<int>().ShouldBe(3);
        var locales = await JsonAsync(await OperatorAsync(HttpMethod.Post, "/admin/v1/messaging/segments/preview",
            new { segment = new { registered_from = from, registered_to = to, locales = new[] { "zh-CN" } } }), HttpStatusCode.OK);
        locales["count"]!.GetValue<int>().ShouldBe(0);
        await (await OperatorAsync(HttpMethod.Post, "/admin/v1/messaging/segments/preview", new { segment = new { paid_within_days = -1 } }))
            .ShouldBeProblemAsync(400, "invalid_segment");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/messaging/campaigns/{Guid.NewGuid()}/start")).ShouldBeProblemAsync(404, "not_found");
    }

    [Fact]
    public async Task Only_payments_within_the_window_after_delivery_convert()
    {
        var (users, from, to) = await PopulationAsync(2, _ => Consented);
        var id = await CreateAsync(Campaign(Segment(from, to), 0));
        await StartAsync(id);
        var now = host.Clock.GetUtcNow();
        async Task PayAsync(Guid user, DateTimeOffset at)
        {
            await using var connection = await Db.OpenAsync();
            await connection.ExecuteAsync("""
                INSERT INTO messaging_payments (trade_no, user_id, merchant_id, amount_minor, paid_at_us) VALUES (@tradeNo, @user, @merchant, 1000, @at)
                """, new { tradeNo = "T" + Guid.NewGuid().ToString("N"), user, merchant = Guid.NewGuid(), at = at.ToUnixMicroseconds() });
        }
        await PayAsync(users[0], now.AddHours(-1));
        await PayAsync(users[1], now.AddHours(73));
        (await ResultsAsync(id))["variants"]!.AsArray().Sum(v => v!["converted"]!.GetValue<int>()).ShouldBe(0);
        await PayAsync(users[1], now.AddHours(71));
        (await ResultsAsync(id))["variants"]!.AsArray().Sum(v => v!["converted"]!.GetValue<int>()).ShouldBe(1);
    }

    [Fact]
    public async Task Email_tracking_links_record_opens_and_clicks_and_redirect_only_to_the_variants_own_url()
    {
        var (_, from, to) = await PopulationAsync(2, _ => Consented);
        var url = "https://shop.example.com/spring?x=1";
        var id = await CreateAsync(Campaign(Segment(from, to), 0, actionA: new { type = "open_url", url }, actionB: new { type = "open_url", url }));
        await StartAsync(id);
        var notificationId = (await MembersAsync(id)).First().NotificationId!.Value;
        var links = host.Services.GetRequiredService<TrackingLinks>();
        using var raw = host.Factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var open = links.Token(TrackingLinks.Kind.Open, notificationId);
        var pixel = await raw.GetAsync("/t/o/" + open);
        pixel.StatusCode.ShouldBe(HttpStatusCode.OK);
        pixel.Content.Headers.ContentType!.MediaType.ShouldBe("image/gif");
        var click = await raw.GetAsync("/t/c/" + links.Token(TrackingLinks.Kind.Click, notificationId));
        click.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        click.Headers.Location!.AbsoluteUri.ShouldBe(url);

        // A forged tag, an open token used as a click, and garbage record nothing and redirect nowhere.
        var forged = open[..^2] + (open[^2] == 'A' ? "B" : "A") + open[^1];
        (await raw.GetAsync("/t/o/" + forged)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await raw.GetAsync("/t/c/" + open)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await raw.GetAsync("/t/c/garbage")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        var results = await ResultsAsync(id);
        results["variants"]!.AsArray().Sum(v => v!["opened"]!.GetValue<int>()).ShouldBe(1);
        results["variants"]!.AsArray().Sum(v => v!["clicked"]!.GetValue<int>()).ShouldBe(1);

        var kpis = await JsonAsync(await OperatorAsync(HttpMethod.Get,
            $"/admin/v1/messaging/kpis?from={Uri.EscapeDataString(host.Clock.GetUtcNow().AddMinutes(-5).ToString("O"))}"), HttpStatusCode.OK);
        var marketing = kpis["items"]!.AsArray().Single(i => i!["category"]!.GetValue<string>() == "marketing" && i["channel"]!.GetValue<string>() == "in_app")!;
        marketing["sent"]!.GetValue<long>().ShouldBeGreaterThanOrEqualTo(2);
        marketing["opened"]!.GetValue<long>().ShouldBeGreaterThanOrEqualTo(1);
        marketing["clicked"]!.GetValue<long>().ShouldBeGreaterThanOrEqualTo(1);
        marketing["open_rate"]!.GetValue<double>().ShouldBeGreaterThan(0);
        await (await OperatorAsync(HttpMethod.Get, "/admin/v1/messaging/kpis?from=yesterday")).ShouldBeProblemAsync(400, "invalid_time");
    }

    [Fact]
    public async Task Payment_facts_from_trade_paid_select_segments_and_a_redelivered_event_counts_once()
    {
        var (users, from, to) = await PopulationAsync(3, _ => null);
        var shop = Guid.NewGuid();
        var cafe = Guid.NewGuid();
        var now = host.Clock.GetUtcNow();
        var events = new[]
        {
            Paid(users[0], shop, 5000, now.AddDays(-1)),
            Paid(users[1], cafe, 100, now.AddDays(-40)),
        };
        var subscriber = host.Services.GetServices<Qianbao.Server.Money.Events.IEventSubscriber>().OfType<MessagingPaymentsSubscriber>().Single();
        await subscriber.HandleAsync(events, CancellationToken.None);
        await subscriber.HandleAsync(events, CancellationToken.None);

        async Task<int> CountAsync(object extra)
        {
            var segment = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(extra))!.AsObject();
            segment["registered_from"] = from;
            segment["registered_to"] = to;
            return (await JsonAsync(await OperatorAsync(HttpMethod.Post, "/admin/v1/messaging/segments/preview", new { segment }), HttpStatusCode.OK))["count"]!.GetValue<int>();
        }
        (await CountAsync(new { })).ShouldBe(3);
        (await CountAsync(new { paid_within_days = 7 })).ShouldBe(1);
        (await CountAsync(new { not_paid_within_days = 7 })).ShouldBe(2);
        (await CountAsync(new { merchant_ids = new[] { cafe } })).ShouldBe(1);
        (await CountAsync(new { spend_30d_min = 5000 })).ShouldBe(1);
        (await CountAsync(new { spend_30d_min = 5001 })).ShouldBe(0);
        (await CountAsync(new { paid_within_days = 60, merchant_ids = new[] { cafe } })).ShouldBe(1);
        (await CountAsync(new { follows_merchant_id = shop })).ShouldBe(0);
        // Follows are Notifications' merchant_follows (POST /v1/merchants/{id}/follow), read through IMerchantFollowers.
        await using (var connection = await Db.OpenAsync())
            foreach (var follower in users.Skip(1))
                await connection.ExecuteAsync("INSERT INTO merchant_follows (user_id, merchant_id, followed_at_us) VALUES (@follower, @shop, 1)",
                    new { follower, shop });
        (await CountAsync(new { follows_merchant_id = shop })).ShouldBe(2);
        (await CountAsync(new { follows_merchant_id = shop, merchant_ids = new[] { cafe } })).ShouldBe(1);
    }

    private static Qianbao.Server.Money.Events.StoredEvent Paid(Guid buyer, Guid merchant, long amount, DateTimeOffset at)
    {
        var tradeNo = "T" + Guid.NewGuid().ToString("N");
        var paid = new Qianbao.Server.Money.Events.TradePaid(tradeNo, "app", "out-" + tradeNo, merchant, buyer, amount, 0, "CNY");
        return new Qianbao.Server.Money.Events.StoredEvent(new Qianbao.Server.Money.Events.EventPosition(0, 0), Guid.NewGuid(), "trade.paid",
            "trade:" + tradeNo, System.Text.Json.JsonSerializer.Serialize(paid, Qianbao.Server.Money.Events.EventTypes.Json), at.ToUnixMicroseconds());
    }
}

public sealed class SqliteMessagingCampaignTests(SqliteNotificationHost host) : MessagingCampaignTests<SqliteNotificationHost>(host);

public sealed class PostgresMessagingCampaignTests(PostgresNotificationHost host) : MessagingCampaignTests<PostgresNotificationHost>(host);
