using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>Reads Server-Sent Events from a response body: id, event and data of each event, comments skipped.</summary>
internal sealed class SseReader(HttpResponseMessage response, StreamReader reader) : IAsyncDisposable
{
    public sealed record Event(string? Id, string? Type, string Data);

    public static async Task<SseReader> OpenAsync(HttpClient http, string token, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/notifications/stream");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var sse = new SseReader(response, reader);
        // The stream is open (and subscribed) once its first comment arrives.
        (await reader.ReadLineAsync()).ShouldNotBeNull().ShouldStartWith(":");
        return sse;
    }

    public async Task<Event> NextAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        string? id = null, type = null, data = null;
        while (true)
        {
            var line = await reader.ReadLineAsync(cts.Token) ?? throw new EndOfStreamException("the stream ended");
            if (line.Length == 0)
            {
                if (data is not null) return new Event(id, type, data);
                continue;
            }
            if (line.StartsWith(':')) continue;
            var colon = line.IndexOf(':');
            var (field, value) = colon < 0 ? (line, "") : (line[..colon], line[(colon + 1)..].TrimStart(' '));
            switch (field)
            {
                case "id": id = value; break;
                case "event": type = value; break;
                case "data": data = data is null ? value : data + "\n" + value; break;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        reader.Dispose();
        response.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The real-time stream in one process: a committed notification arrives within a second; Last-Event-ID replays what was missed.</summary>
public abstract class StreamTests<THost>(THost host) : IClassFixture<THost> where THost : NotificationHost
{
    private readonly HttpClient http = host.CreateClient();

    private async Task<Guid> NotifyAsync(Guid userId, string amount)
    {
        var db = host.Services.GetRequiredService<Db>();
        await using var connection = await db.OpenAsync();
        await using var tx = await db.BeginWriteAsync(connection, CancellationToken.None);
        var result = await host.Services.GetRequiredService<Notifier>().NotifyAsync(connection, tx, new NotificationRequest(userId, NotificationCategory.Transaction,
            "trade_paid", "trade:" + Guid.NewGuid(), new Dictionary<string, string> { ["amount"] = amount, ["merchant"] = "Corner Shop" }), CancellationToken.None);
        await tx.CommitAsync();
        return result.NotificationId;
    }

    [Fact]
    public async Task A_committed_notification_reaches_an_open_stream_within_a_second_and_a_resume_replays_what_was_missed()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        string firstId;
        await using (var stream = await SseReader.OpenAsync(http, user.AccessToken))
        {
            var id = await NotifyAsync(user.UserId, "23.50");
            // Measured from the commit (NotifyAsync returns once it has committed), not from the request that caused it.
            var clock = Stopwatch.StartNew();
            var e = await stream.NextAsync(TimeSpan.FromSeconds(5));
            clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(1));
            e.Type.ShouldBe("notification");
            var item = JsonNode.Parse(e.Data)!;
            item["id"]!.GetValue<Guid>().ShouldBe(id);
            item["body"]!.GetValue<string>().ShouldContain("23.50");
            item["category"]!.GetValue<string>().ShouldBe("transaction");
            firstId = e.Id.ShouldNotBeNull();
        }

        // Two more while no stream is open; resuming from the first replays both, in order.
        var second = await NotifyAsync(user.UserId, "1.00");
        var third = await NotifyAsync(user.UserId, "2.00");
        await using var resumed = await SseReader.OpenAsync(http, user.AccessToken, firstId);
        JsonNode.Parse((await resumed.NextAsync(TimeSpan.FromSeconds(5))).Data)!["id"]!.GetValue<Guid>().ShouldBe(second);
        JsonNode.Parse((await resumed.NextAsync(TimeSpan.FromSeconds(5))).Data)!["id"]!.GetValue<Guid>().ShouldBe(third);
    }
}

public sealed class SqliteStreamTests(SqliteNotificationHost host) : StreamTests<SqliteNotificationHost>(host);

public sealed class PostgresStreamTests(PostgresNotificationHost host) : StreamTests<PostgresNotificationHost>(host);

/// <summary>Across processes on one PostgreSQL: a notification committed by one server process reaches a stream open on another within 2 s.</summary>
public sealed class StreamTwoProcessTests
{
    private const string OperatorKey = "notifications-two-process-key";

    [Fact]
    public async Task A_notification_committed_on_one_process_reaches_a_stream_on_the_other_within_two_seconds()
    {
        var postgres = await PostgresCluster.Shared.CreateDatabaseAsync("notify2p");
        var configuration = new Dictionary<string, string> { ["Qianbao:Security:Relaxed"] = "false" };
        await using var a = await ServerProcess.StartAsync(new ServerSettings(Directory.CreateTempSubdirectory("qianbao-ntf-a-").FullName, postgres, OperatorKey,
            Configuration: configuration));
        await using var b = await ServerProcess.StartAsync(new ServerSettings(Directory.CreateTempSubdirectory("qianbao-ntf-b-").FullName, postgres, OperatorKey,
            Configuration: configuration));
        using var httpA = a.CreateClient();
        using var httpB = b.CreateClient();

        var user = await SecureUser.CreateAsync(httpB, OperatorKey, setPin: false, verifyIdentity: false);
        await using var stream = await SseReader.OpenAsync(httpA, user.AccessToken);
        await user.SetPinAsync(SecureUser.Pin); // through B: the security alert commits in the PIN's transaction, before B answers
        // Measured from that commit (the request that caused it, with its SMS code round trip, is not the stream's latency).
        var clock = Stopwatch.StartNew();
        var e = await stream.NextAsync(TimeSpan.FromSeconds(10));
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2));
        e.Type.ShouldBe("notification");
        JsonNode.Parse(e.Data)!["type"]!.GetValue<string>().ShouldBe("pin_changed");
    }
}
