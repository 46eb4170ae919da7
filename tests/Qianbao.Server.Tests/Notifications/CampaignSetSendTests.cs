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
/// The set-based campaign send (PostgreSQL) against the per-person notifier, the reference: two mirrored populations (the same
/// consent, time zone, quiet hours relative to each person's local now, earlier marketing messages for the caps) receive
/// the same campaign, one through each path, and every decision must be equal: status, due time, inbox number, each
/// channel's decision. Both engines: the per-person path stays the path on SQLite, so the comparison there checks the
/// fallback is used.
/// </summary>
public abstract class CampaignSetSendTests<THost>(THost host) : IClassFixture<THost> where THost : NotificationHost
{
    private readonly HttpClient http = host.CreateClient();
    private Db Db => host.Services.GetRequiredService<Db>();

    private static readonly string[] Zones = ["Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"];
    private static readonly int?[] MarketingChannels = [null, 0, 1, 3, 2, 5];

    private sealed record Decision(short Status, long DueOffsetUs, long Seq, string Deliveries, string? Variant);

    private async Task<HttpResponseMessage> OperatorAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.OperatorKey);
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        if (body is not null) request.Content = JsonContent.Create(body);
        return await http.SendAsync(request);
    }

    /// <summary>
    /// Person <paramref name="i"/> of a scripted population: consent from <see cref="MarketingChannels"/>, a zone, quiet hours
    /// disabled / around the local now / after it / around it spanning midnight, and 0..5 earlier marketing messages.
    /// </summary>
    private static async Task ScriptAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx, Guid id, int i, DateTimeOffset now)
    {
        var channels = MarketingChannels[i % MarketingChannels.Length];
        if (channels is null) return;
        var zone = Zones[i / MarketingChannels.Length % Zones.Length];
        var local = TimeZoneInfo.ConvertTime(now, NotificationRules.Zone(zone));
        var minute = local.Hour * 60 + local.Minute;
        static int M(int m) => ((m % 1440) + 1440) % 1440;
        var quiet = (i / (MarketingChannels.Length * Zones.Length) % 4) switch
        {
            0 => new QuietHours(false, 0, 0),
            1 => new QuietHours(true, M(minute - 60), M(minute + 90)),
            2 => new QuietHours(true, M(minute + 60), M(minute + 180)),
            _ => new QuietHours(true, M(minute - 30), M(minute - 90)), // starts after it ends: spans midnight, now inside
        };
        await NotificationSettings.WriteAsync(connection, tx, id, new NotificationPreferences(1, channels.Value, 1, quiet, zone), "en", 0, CancellationToken.None);
        // Earlier marketing messages: an hour ago, two days ago, almost a week ago, 8 days ago, and one held until later today.
        long[] offsetsH = [-1, -48, -166, -192, 3];
        var prior = i / (MarketingChannels.Length * Zones.Length * 4) % 6;
        for (var k = 0; k < prior; k++)
            await connection.ExecuteAsync("""
                INSERT INTO notifications (id, user_id, seq, category, type, dedupe_key, status, title, body, visible_at_us, created_at_us)
                VALUES (@nid, @id, @seq, 2, 'campaign', @key, 0, 't', 'b', @at, @at)
                """, new { nid = Guid.NewGuid(), id, seq = k + 1, key = "prior:" + k, at = now.AddHours(offsetsH[k % offsetsH.Length]).ToUnixMicroseconds() }, tx);
        await connection.ExecuteAsync("UPDATE notification_settings SET last_seq = @prior WHERE user_id = @id", new { prior, id }, tx);
    }

    /// <param name="scriptedAt">The instant the quiet hours are scripted around; both populations take the same one, so a minute that
    /// turns while the first is inserted does not shift the second's quiet hours (a 60 s difference under load, once).</param>
    private async Task<(DateTimeOffset From, DateTimeOffset To, List<Guid> Users)> PopulationAsync(int count, DateTimeOffset? scriptedAt = null)
    {
        var now = scriptedAt ?? host.Clock.GetUtcNow();
        var from = new DateTimeOffset(1995, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(Random.Shared.Next(0, 5_000_000));
        var users = new List<Guid>();
        await using var connection = await Db.OpenAsync();
        await using var tx = await Db.BeginWriteAsync(connection, CancellationToken.None);
        for (var i = 0; i < count; i++)
        {
            var id = Guid.NewGuid();
            users.Add(id);
            await connection.ExecuteAsync("""
                INSERT INTO users (id, phone, name, password_hash, created_at_us, locale) VALUES (@id, @phone, 'x', 'x', @at, 'en')
                """, new { id, phone = "set-" + id.ToString("N"), at = from.AddSeconds(i).ToUnixMicroseconds() }, tx);
            await ScriptAsync(connection, tx, id, i, now);
        }
        await tx.CommitAsync();
        return (from, from.AddSeconds(count), users);
    }

    private async Task<Guid> CreateAsync(DateTimeOffset from, DateTimeOffset to)
    {
        var response = await OperatorAsync(HttpMethod.Post, "/admin/v1/messaging/campaigns", new
        {
            name = "Set or person",
            segment = new { registered_from = from, registered_to = to },
            channels = new[] { "in_app" },
            variants = new object[]
            {
                new { key = "a", weight = 3, title = "Half price", body = "Half price at Corner Shop", action = new { type = "open_url", url = "https://example.com/a" } },
                new { key = "b", weight = 1, title = "10% off", body = "10% off at Corner Shop" },
            },
            holdout_bps = 0,
            conversion = new { @event = "payment", window_hours = 72 },
        });
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.Created, text);
        return JsonNode.Parse(text)!["id"]!.GetValue<Guid>();
    }

    private async Task<List<Decision>> DecisionsAsync(Guid campaignId, List<Guid> users)
    {
        await using var connection = await Db.OpenAsync();
        var list = new List<Decision>();
        foreach (var user in users)
        {
            var n = await connection.QuerySingleAsync<(Guid Id, short Status, long Visible, long Created, long Seq, string? Variant, string Title, string? Action)>("""
                SELECT id, status, visible_at_us, created_at_us, seq, variant, title, action FROM notifications WHERE user_id = @user AND campaign_id = @campaignId
                """, new { user, campaignId });
            var deliveries = (await connection.QueryAsync<(short Channel, short Decision, long Due)>(
                "SELECT channel, decision, due_at_us FROM notification_deliveries WHERE notification_id = @Id ORDER BY channel", new { n.Id })).AsList();
            deliveries.ShouldAllBe(d => d.Due == n.Visible);
            n.Title.ShouldBe(n.Variant == "a" ? "Half price" : "10% off");
            (n.Action is not null).ShouldBe(n.Variant == "a");
            // Not held: due now (the two runs are milliseconds apart); held: the absolute end of the quiet hours.
            list.Add(new Decision(n.Status, n.Visible == n.Created ? 0 : n.Visible, n.Seq,
                string.Join(",", deliveries.Select(d => $"{d.Channel}:{d.Decision}")), n.Variant));
        }
        return list;
    }

    [Fact]
    public async Task The_set_based_send_decides_exactly_as_the_per_person_notifier_on_a_scripted_population()
    {
        const int people = 6 * 4 * 4 * 6;
        var now = host.Clock.GetUtcNow();
        var (fromA, toA, usersA) = await PopulationAsync(people, now);
        var (fromB, toB, usersB) = await PopulationAsync(people, now);
        var store = host.Services.GetRequiredService<CampaignStore>();
        var sender = host.Services.GetRequiredService<CampaignSender>();
        var reference = await CreateAsync(fromA, toA);
        var setBased = await CreateAsync(fromB, toB);
        (await sender.MaterialiseAsync((await store.FindAsync(reference, CancellationToken.None))!, CancellationToken.None)).ShouldNotBeNull();
        (await sender.MaterialiseAsync((await store.FindAsync(setBased, CancellationToken.None))!, CancellationToken.None)).ShouldNotBeNull();

        var byPerson = await sender.SendIfDueAsync(reference, CancellationToken.None, setBased: false);
        var bySet = await sender.SendIfDueAsync(setBased, CancellationToken.None, setBased: true);
        bySet.ShouldBe(byPerson);

        var a = await DecisionsAsync(reference, usersA);
        var b = await DecisionsAsync(setBased, usersB);
        for (var i = 0; i < people; i++)
            (b[i] with { Variant = null }).ShouldBe(a[i] with { Variant = null }, $"person {i}");
        // Every kind of decision occurred, so the comparison covered them all.
        a.Select(d => d.Status).Distinct().Count().ShouldBe(3);
        a.ShouldContain(d => d.DueOffsetUs != 0 && d.Status == (short)NotificationStatus.Inbox);
        a.ShouldContain(d => d.Deliveries.Contains("1:3"));
        // The variant is the one the shared hash assigns, on both paths.
        for (var i = 0; i < people; i++)
        {
            a[i].Variant.ShouldBe(Assign(reference, usersA[i]));
            b[i].Variant.ShouldBe(Assign(setBased, usersB[i]));
        }
        // Nothing is sent twice: a second pass decides nobody again.
        await sender.SendIfDueAsync(setBased, CancellationToken.None, setBased: true);
        await using var connection = await Db.OpenAsync();
        (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM notifications WHERE campaign_id = @setBased", new { setBased })).ShouldBe(people);
    }

    [Fact]
    public async Task Start_answers_at_once_with_the_forecast_and_the_woken_scheduler_sends_in_the_background()
    {
        const int people = 6 * 4 * 4 * 2;
        var (from, to, _) = await PopulationAsync(people);
        var id = await CreateAsync(from, to);
        var response = await OperatorAsync(HttpMethod.Post, $"/admin/v1/messaging/campaigns/{id}/start");
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, text);
        var started = JsonNode.Parse(text)!.AsObject();
        started["audience"]!.GetValue<int>().ShouldBe(people);
        started["holdout"]!.GetValue<int>().ShouldBe(0);
        var forecast = started["scheduled"]!.GetValue<int>();
        forecast.ShouldBeInRange(1, people - 1);

        // Nobody runs a pass here: the hosted scheduler, woken by the start, sends (polled with a bound).
        JsonObject campaign;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var get = await OperatorAsync(HttpMethod.Get, $"/admin/v1/messaging/campaigns/{id}");
            campaign = JsonNode.Parse(await get.Content.ReadAsStringAsync())!.AsObject();
            if (campaign["status"]!.GetValue<string>() == "sent" || DateTime.UtcNow > deadline) break;
            await Task.Delay(100);
        }
        campaign["status"]!.GetValue<string>().ShouldBe("sent");
        campaign["scheduled"]!.GetValue<int>().ShouldBe(forecast);
        await using var connection = await Db.OpenAsync();
        var key = Db.Engine == DatabaseEngine.Postgres ? (object)id : id.ToString();
        (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM notifications WHERE campaign_id = @key", new { key })).ShouldBe(people);
        (await connection.ExecuteScalarAsync<long>("""
            SELECT COUNT(*) FROM messaging_campaign_members m WHERE m.campaign_id = @key
              AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = m.user_id AND n.dedupe_key = @dedupe)
            """, new { key, dedupe = CampaignSender.DedupeKey(id) })).ShouldBe(0);
    }

    [Fact]
    public async Task A_send_interrupted_after_some_batches_resumes_and_notifies_nobody_twice()
    {
        const int people = 120;
        var (from, to, users) = await PopulationAsync(people);
        var store = host.Services.GetRequiredService<CampaignStore>();
        var sender = host.Services.GetRequiredService<CampaignSender>();
        var id = await CreateAsync(from, to);
        var row = (await store.FindAsync(id, CancellationToken.None))!;
        (await sender.MaterialiseAsync(row, CancellationToken.None)).ShouldNotBeNull();
        var key = Db.Engine == DatabaseEngine.Postgres ? (object)id : id.ToString();
        // The process dies while sending: the campaign is marked sending and the first 40 members were committed.
        await using (var connection = await Db.OpenAsync())
        {
            await connection.ExecuteAsync($"UPDATE messaging_campaigns SET status = {(short)CampaignState.Sending} WHERE id = @key", new { key });
            if (Db.Engine == DatabaseEngine.Postgres)
            {
                await using var tx = await Db.BeginWriteAsync(connection, CancellationToken.None);
                (await CampaignBulkSend.SendBatchAsync(connection, tx, id, 0, BulkVariants.Of(row.Definition), 1, host.Clock.GetUtcNow().ToUnixMicroseconds(),
                    new MarketingCaps(2, 5), 40, CancellationToken.None)).Taken.ShouldBe(40);
                await tx.CommitAsync();
            }
        }
        if (Db.Engine == DatabaseEngine.Sqlite)
        {
            var notifier = host.Services.GetRequiredService<Notifier>();
            foreach (var user in users.Take(40))
            {
                await using var connection = await Db.OpenAsync();
                await using var tx = await Db.BeginWriteAsync(connection, CancellationToken.None);
                await notifier.NotifyAsync(connection, tx, new NotificationRequest(user, NotificationCategory.Marketing, "campaign",
                    CampaignSender.DedupeKey(id), CampaignId: id, Variant: Assign(id, user), Title: "t", Body: "b"), CancellationToken.None);
                await tx.CommitAsync();
            }
        }
        await using (var connection = await Db.OpenAsync())
            (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM notifications WHERE campaign_id = @key", new { key })).ShouldBe(40);

        // The restarted scheduler resumes the sending campaign (twice: the second pass finds nothing left).
        await sender.SendDueAsync(CancellationToken.None);
        await sender.SendDueAsync(CancellationToken.None);
        await using (var connection = await Db.OpenAsync())
        {
            (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM notifications WHERE campaign_id = @key", new { key })).ShouldBe(people);
            (await connection.ExecuteScalarAsync<long>(
                "SELECT COUNT(DISTINCT user_id) FROM notifications WHERE campaign_id = @key", new { key })).ShouldBe(people);
            // The inbox numbers stay consecutive per person: the settings row's last number is the campaign message's.
            (await connection.ExecuteScalarAsync<long>("""
                SELECT COUNT(*) FROM notifications n JOIN notification_settings s ON s.user_id = n.user_id WHERE n.campaign_id = @key AND n.seq <> s.last_seq
                """, new { key })).ShouldBe(0);
        }
    }

    [Fact]
    public async Task Two_senders_of_the_same_campaign_at_once_notify_everyone_once()
    {
        // Every process's scheduler may send a due campaign: on PostgreSQL each sender sends the campaign's two ranges in
        // parallel, and the batches of one range take turns (its row lock), so the second finds the mark the first moved;
        // without it both would pick the same people.
        const int people = 90;
        var (from, to, _) = await PopulationAsync(people);
        var store = host.Services.GetRequiredService<CampaignStore>();
        var sender = host.Services.GetRequiredService<CampaignSender>();
        var id = await CreateAsync(from, to);
        (await sender.MaterialiseAsync((await store.FindAsync(id, CancellationToken.None))!, CancellationToken.None)).ShouldNotBeNull();
        await Task.WhenAll(Task.Run(() => sender.SendIfDueAsync(id, CancellationToken.None)), Task.Run(() => sender.SendIfDueAsync(id, CancellationToken.None)));
        var key = Db.Engine == DatabaseEngine.Postgres ? (object)id : id.ToString();
        await using var connection = await Db.OpenAsync();
        (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM notifications WHERE campaign_id = @key", new { key })).ShouldBe(people);
        (await connection.ExecuteScalarAsync<long>("SELECT COUNT(DISTINCT user_id) FROM notifications WHERE campaign_id = @key", new { key })).ShouldBe(people);
        // Each person's inbox number was taken once: the campaign's message holds the settings row's last number.
        (await connection.ExecuteScalarAsync<long>("""
            SELECT COUNT(*) FROM notifications n JOIN notification_settings s ON s.user_id = n.user_id WHERE n.campaign_id = @key AND n.seq <> s.last_seq
            """, new { key })).ShouldBe(0);
        if (Db.Engine == DatabaseEngine.Postgres)
        {
            // Two ranges, both sent to their end, together covering every member.
            var ranges = (await connection.QueryAsync<(Guid First, Guid Last, Guid? SentThrough)>(
                "SELECT first_user_id, last_user_id, sent_through FROM messaging_campaign_send_ranges WHERE campaign_id = @key ORDER BY range_no",
                new { key })).AsList();
            ranges.Count.ShouldBe(CampaignBulkSend.Ranges);
            ranges.ShouldAllBe(r => r.SentThrough == r.Last);
            ranges[0].First.ShouldBe(Guid.Empty);
            ranges[^1].Last.ShouldBe(Guid.AllBitsSet);
            UuidOrder.Key(ranges[1].First).ShouldBe(UuidOrder.Key(ranges[0].Last) + 1);
        }
    }

    private static string? Assign(Guid campaign, Guid user) =>
        VariantAssignment.Assign(campaign, user, 0, [new Variant("a", 3, null, null), new Variant("b", 1, null, null)]);
}

public sealed class SqliteCampaignSetSendTests(SqliteNotificationHost host) : CampaignSetSendTests<SqliteNotificationHost>(host);

public sealed class PostgresCampaignSetSendTests(PostgresNotificationHost host) : CampaignSetSendTests<PostgresNotificationHost>(host);
