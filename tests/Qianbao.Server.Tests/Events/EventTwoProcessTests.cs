using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Events;

/// <summary>
/// Two real server processes on one PostgreSQL, each running the event runner with the same three subscribers, users
/// registering through both (each registration appends <c>user.registered</c> in its own transaction). One process
/// holds the subscribers first; it is then killed with SIGKILL mid-stream and the other takes them over when the
/// leases lapse. Every event must reach every subscriber's idempotent handler: exactly one receipt per subscriber and
/// event, none missing, whatever was delivered twice.
/// </summary>
public sealed class EventTwoProcessTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private const string OperatorKey = "events-two-process-key";
    private static readonly string[] Subscribers = ["alpha", "beta", "gamma"];

    /// <summary>The test's subscribers as a SQL list: the server's own (merchant notifications) runs beside them.</summary>
    private static readonly string TestSubscriberNames = string.Join(", ", Subscribers.Select(n => $"'{n}'"));
    private const int FirstWave = 20;
    private static int phoneCounter;

    [Fact]
    public async Task EveryEventIsHandledOncePerSubscriberAcrossTwoProcessesAndATakeover()
    {
        var postgres = await PostgresCluster.Shared.CreateDatabaseAsync("events2p");
        await ExecuteAsync(postgres, DbRecordingSubscriber.CreateTablesSql);
        var environment = new Dictionary<string, string>
        {
            ["DOTNET_STARTUP_HOOKS"] = typeof(StartupHook).Assembly.Location,
            [StartupHook.SubscribersVariable] = string.Join(',', Subscribers),
            // Short, so the takeover comes soon after the kill. A process that stalls longer than this beside the rest of the suite
            // loses its subscribers to the other before the kill, which the test absorbs (it only needs each to handle some).
            ["Qianbao__Events__LeaseMs"] = "5000",
            ["Qianbao__Events__PollIntervalMs"] = "50",
            ["Qianbao__Events__BatchSizeMax"] = "16",
        };
        var dirs = new[] { Directory.CreateTempSubdirectory("qianbao-ev-a-").FullName, Directory.CreateTempSubdirectory("qianbao-ev-b-").FullName };
        await using var a = await ServerProcess.StartAsync(new ServerSettings(dirs[0], postgres, OperatorKey, environment));
        ServerProcess? b = null;
        try
        {
            // A takes every subscriber before B exists, so the takeover below is certain to be exercised.
            await Poll.UntilAsync(async () => await ScalarAsync(postgres,
                    $"SELECT COUNT(*) FROM event_subscriptions WHERE lease_owner LIKE '%/{a.ProcessId}/%' AND name IN ({TestSubscriberNames})")
                    == Subscribers.Length,
                "server A to hold every subscriber", 30_000);
            using var httpA = a.CreateClient();
            // A handles a first wave alone: with no other process to take its leases, A surely handles events before it dies
            // (in fresh-clone runs, a first pass of A that stalled beyond its lease beside the suite let B take everything).
            await Task.WhenAll(Enumerable.Range(0, FirstWave).Select(_ => RegisterAsync(httpA)));
            await Poll.UntilAsync(async () => await ScalarAsync(postgres, $"SELECT COUNT(*) FROM test_event_receipts WHERE pid = {a.ProcessId}")
                    == FirstWave * Subscribers.Length,
                "server A to handle the first wave", 30_000);

            b = await ServerProcess.StartAsync(new ServerSettings(dirs[1], postgres, OperatorKey, environment));
            using var httpB = b.CreateClient();
            // Concurrent writers on both processes; A handles them while it holds the leases, B's events reach A by NOTIFY or polling.
            await Task.WhenAll(Enumerable.Range(0, 100).Select(i => RegisterAsync(i % 2 == 0 ? httpA : httpB)));

            // A dies mid-stream while B keeps appending: B takes the subscribers over when A's leases lapse.
            var more = Task.WhenAll(Enumerable.Range(0, 70).Select(_ => RegisterAsync(httpB)));
            await a.KillAsync();
            await more;
            // And some surely after A is gone: A may have handled all of the concurrent ones before it died, and then B would
            // have nothing to take over.
            for (var i = 0; i < 10; i++) await RegisterAsync(httpB);

            var total = await ScalarAsync(postgres, "SELECT COUNT(*) FROM domain_events WHERE type = 'user.registered'");
            total.ShouldBe(200);
            await Poll.UntilAsync(async () => await ScalarAsync(postgres, "SELECT COUNT(*) FROM test_event_receipts") == total * Subscribers.Length,
                "every subscriber to handle every event", 60_000);

            foreach (var name in Subscribers)
            {
                (await ScalarAsync(postgres, $"""
                    SELECT COUNT(*) FROM domain_events e
                    WHERE NOT EXISTS (SELECT 1 FROM test_event_receipts r WHERE r.subscriber = '{name}' AND r.event_id = e.id)
                    """)).ShouldBe(0, $"events {name} never handled");
                var attempts = await ScalarAsync(postgres, $"SELECT COUNT(*) FROM test_event_attempts WHERE subscriber = '{name}'");
                var distinct = await ScalarAsync(postgres, $"SELECT COUNT(DISTINCT event_id) FROM test_event_attempts WHERE subscriber = '{name}'");
                distinct.ShouldBe(total);
                attempts.ShouldBeGreaterThanOrEqualTo(distinct);
                log.WriteLine($"{name}: {attempts} deliveries of {distinct} events ({attempts - distinct} repeated after the takeover)");
            }
            // B took over: it now holds every subscriber and handled the tail (its pid on receipts beside A's).
            (await ScalarAsync(postgres, $"SELECT COUNT(*) FROM event_subscriptions WHERE lease_owner LIKE '%/{b.ProcessId}/%' AND name IN ({TestSubscriberNames})"))
                .ShouldBe(Subscribers.Length);
            (await ScalarAsync(postgres, $"SELECT COUNT(DISTINCT pid) FROM test_event_receipts")).ShouldBe(2);
        }
        catch
        {
            log.WriteLine("A:\n" + a.RecentOutput);
            if (b is not null) log.WriteLine("B:\n" + b.RecentOutput);
            throw;
        }
        finally
        {
            if (b is not null) await b.DisposeAsync();
        }
        foreach (var dir in dirs) Directory.Delete(dir, recursive: true);
    }

    private static async Task RegisterAsync(HttpClient http)
    {
        var phone = "137" + Interlocked.Increment(ref phoneCounter).ToString("D8", CultureInfo.InvariantCulture);
        var response = await http.PostAsJsonAsync("/v1/users", new { phone, password = "correct horse", name = "Event Person" });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
