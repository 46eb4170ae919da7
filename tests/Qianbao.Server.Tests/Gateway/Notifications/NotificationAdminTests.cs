using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Adapters.Alipay.Notifications;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Gateway.Notifications;

/// <summary>
/// The operator endpoints over real HTTP, in a small host that wires only what <see cref="NotificationRegistration"/>
/// needs (the full host calls the same two methods). The dispatcher runs as the hosted service, woken by replays.
/// </summary>
public abstract class NotificationAdminTests(DatabaseEngine engine) : IAsyncLifetime
{
    private const string OperatorKeyValue = "test-operator-key";
    private NotifyBed? bed;
    private NotifyReceiver? receiver;
    private WebApplication? app;
    private HttpClient? http;

    private NotifyBed Bed => bed!;
    private NotifyReceiver Receiver => receiver!;
    private HttpClient Http => http!;

    public async Task InitializeAsync()
    {
        bed = await NotifyBed.CreateAsync(engine);
        receiver = await NotifyReceiver.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        bed.AddServices(builder.Services);
        builder.Services.AddSingleton(new OperatorKey(OperatorKeyValue));
        // The operator filter records every non-GET call in the audit log.
        builder.Services.AddSingleton<Qianbao.Server.Modules.Operators.Audit.AuditLog>();
        builder.Services.ConfigureHttpJsonOptions(o => JsonDefaults.Configure(o.SerializerOptions));
        app = builder.Build();
        app.MapNotifications();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        http = new HttpClient { BaseAddress = new Uri(address) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", OperatorKeyValue);
    }

    public async Task DisposeAsync()
    {
        http?.Dispose();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        if (receiver is not null) await receiver.DisposeAsync();
        if (bed is not null) await bed.DisposeAsync();
    }

    [Fact]
    public async Task TheOperatorKeyIsRequired()
    {
        using var anonymous = new HttpClient { BaseAddress = Http.BaseAddress };
        await (await anonymous.GetAsync("/admin/v1/notifications")).ShouldBeProblemAsync(401, "unauthorized");
        await (await anonymous.PostAsync($"/admin/v1/notifications/{Guid.NewGuid()}/replay", null)).ShouldBeProblemAsync(401, "unauthorized");
    }

    [Fact]
    public async Task ListsNewestFirstWithFilters()
    {
        Receiver.Answer = _ => "fail";
        var closed = $"http://127.0.0.1:{NotifyBed.ClosedPort()}/notify";
        var (a1, n1) = await Bed.InsertAsync(closed, tradeNo: "TA");
        var (a2, _) = await Bed.InsertAsync(closed, tradeNo: "TA", eventName: "refund");
        var (b1, _) = await Bed.InsertAsync(closed, tradeNo: "TB");

        var all = await ItemsAsync("/admin/v1/notifications");
        all.Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([b1, a2, a1]);
        var oldest = all[2]!;
        oldest["notify_id"]!.GetValue<string>().ShouldBe(n1);
        oldest["trade_no"]!.GetValue<string>().ShouldBe("TA");
        oldest["event"]!.GetValue<string>().ShouldBe("payment");
        oldest["url"]!.GetValue<string>().ShouldBe(closed);
        oldest["created_at"]!.GetValue<DateTimeOffset>().ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-5));
        oldest["status"]!.GetValue<string>().ShouldBe("pending");
        oldest["next_attempt_at"].ShouldNotBeNull();
        oldest["delivered_at"].ShouldBeNull();

        (await ItemsAsync("/admin/v1/notifications?trade_no=TA")).Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([a2, a1]);
        (await ItemsAsync("/admin/v1/notifications?trade_no=TA&limit=1")).Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([a2]);
        (await ItemsAsync("/admin/v1/notifications?trade_no=nope")).ShouldBeEmpty();
        (await ItemsAsync("/admin/v1/notifications?status=delivered")).ShouldBeEmpty();
        (await ItemsAsync("/admin/v1/notifications?status=pending")).Count.ShouldBe(3);
    }

    [Theory]
    [InlineData("limit=0", "invalid_limit")]
    [InlineData("limit=101", "invalid_limit")]
    [InlineData("limit=abc", "invalid_limit")]
    [InlineData("limit=-1", "invalid_limit")]
    [InlineData("status=sent", "invalid_status")]
    [InlineData("trade_no=", "invalid_trade_no")]
    public async Task BadListParametersAreRefused(string query, string code)
    {
        await (await Http.GetAsync("/admin/v1/notifications?" + query)).ShouldBeProblemAsync(400, code);
    }

    [Fact]
    public async Task ReplayingADeliveredNotificationSendsItAgainWithTheSameNotifyId()
    {
        var (id, notifyId) = await Bed.InsertAsync(Receiver.Url);
        App.GetRequiredService<NotificationDispatcher>().Nudge();
        await Poll.UntilAsync(async () => (await Bed.GetAsync(id)).status == "delivered", "the first delivery");

        var response = await Http.PostAsync($"/admin/v1/notifications/{id}/replay", null);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        body["id"]!.GetValue<Guid>().ShouldBe(id);
        body["status"]!.GetValue<string>().ShouldBe("pending");

        // The replay nudges the dispatcher; the poll interval is ten minutes, so nothing else would send it.
        await Poll.UntilAsync(async () => (await Bed.GetAsync(id)) is { status: "delivered", attempts: 2 }, "the replayed delivery");
        Receiver.Received.Count.ShouldBe(2);
        Receiver.Received.ShouldAllBe(n => n.Fields["notify_id"] == notifyId);
        Receiver.Received[1].ShouldBeSignedByPlatform();
        var item = (await ItemsAsync("/admin/v1/notifications")).ShouldHaveSingleItem()!;
        item["status"]!.GetValue<string>().ShouldBe("delivered");
        item["attempts"]!.GetValue<int>().ShouldBe(2);
        item["delivered_at"].ShouldNotBeNull();
        item["next_attempt_at"].ShouldBeNull();
    }

    [Fact]
    public async Task ReplayingAFailedNotificationKeepsItsAttemptsAndTriesAgain()
    {
        var (id, _) = await Bed.InsertAsync(Receiver.Url);
        await using (var connection = await Bed.Db.OpenAsync())
        {
            await connection.ExecuteAsync("UPDATE notify_deliveries SET status = 'failed', attempts = 4, last_error = 'HTTP 500' WHERE id = @id", new { id });
        }

        // The logic itself, without HTTP: pending, due at the time given, attempts untouched. The time is an hour ahead so the
        // running dispatcher leaves the row alone until the HTTP replay below makes it due (else it could deliver it first).
        var now = Qianbao.Server.Hosting.TimeProviderExtensions.GetUnixMicroseconds(TimeProvider.System) + 3_600_000_000L;
        (await Qianbao.Server.Adapters.Alipay.Notifications.ReplayNotification.ReplayAsync(Bed.Db, id, now, CancellationToken.None)).ShouldBeTrue();
        var replayed = await Bed.GetAsync(id);
        replayed.status.ShouldBe("pending");
        replayed.attempts.ShouldBe(4);
        replayed.next_attempt_at_us.ShouldBe(now);
        (await Qianbao.Server.Adapters.Alipay.Notifications.ReplayNotification.ReplayAsync(Bed.Db, Guid.NewGuid(), now, CancellationToken.None)).ShouldBeFalse();

        (await Http.PostAsync($"/admin/v1/notifications/{id}/replay", null)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await Poll.UntilAsync(async () => (await Bed.GetAsync(id)).status == "delivered", "the replayed delivery");
        (await Bed.GetAsync(id)).attempts.ShouldBe(5);
    }

    [Fact]
    public async Task ReplayingAnUnknownNotificationIsNotFound()
    {
        await (await Http.PostAsync($"/admin/v1/notifications/{Guid.NewGuid()}/replay", null)).ShouldBeProblemAsync(404, "not_found");
        await (await Http.PostAsync("/admin/v1/notifications/not-a-uuid/replay", null)).ShouldBeProblemAsync(404, "not_found");
    }

    private IServiceProvider App => app!.Services;

    private async Task<JsonArray> ItemsAsync(string path)
    {
        var response = await Http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!["items"]!.AsArray();
    }
}

public sealed class SqliteNotificationAdminTests() : NotificationAdminTests(DatabaseEngine.Sqlite);

public sealed class PostgresNotificationAdminTests() : NotificationAdminTests(DatabaseEngine.Postgres);
