using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

/// <summary>
/// Test-only: lets a test give a real server process (<c>ServerProcess</c>) subscribers without any test code in the
/// server. The test starts the process with <c>DOTNET_STARTUP_HOOKS</c> naming this assembly, so the runtime calls
/// <see cref="Initialize"/> before <c>Main</c>; it then watches for the host being built (the same hosting diagnostic
/// event WebApplicationFactory uses) and registers one <see cref="Qianbao.Server.Tests.Events.DbRecordingSubscriber"/>
/// per name in <c>QIANBAO_TEST_RECORDING_SUBSCRIBERS</c> (comma-separated). The class must be named StartupHook and
/// live in no namespace: that is the runtime's contract.
/// </summary>
#pragma warning disable CA1050 // The runtime looks for a StartupHook type outside any namespace.
public static class StartupHook
#pragma warning restore CA1050
{
    public const string SubscribersVariable = "QIANBAO_TEST_RECORDING_SUBSCRIBERS";

    public static void Initialize()
    {
        var names = Environment.GetEnvironmentVariable(SubscribersVariable);
        if (string.IsNullOrWhiteSpace(names)) return;
        DiagnosticListener.AllListeners.Subscribe(new ListenerObserver(names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)));
    }

    private sealed class ListenerObserver(string[] names) : IObserver<DiagnosticListener>
    {
        public void OnNext(DiagnosticListener listener)
        {
            if (listener.Name == "Microsoft.Extensions.Hosting") listener.Subscribe(new HostingObserver(names));
        }

        public void OnCompleted() { }
        public void OnError(Exception error) { }
    }

    private sealed class HostingObserver(string[] names) : IObserver<KeyValuePair<string, object?>>
    {
        public void OnNext(KeyValuePair<string, object?> value)
        {
            if (value.Key != "HostBuilding" || value.Value is not IHostBuilder builder) return;
            builder.ConfigureServices(services =>
            {
                foreach (var name in names)
                    services.AddSingleton<IEventSubscriber>(sp => new Qianbao.Server.Tests.Events.DbRecordingSubscriber(name, sp.GetRequiredService<Db>()));
            });
        }

        public void OnCompleted() { }
        public void OnError(Exception error) { }
    }
}

namespace Qianbao.Server.Tests.Events
{
    /// <summary>
    /// Test-only subscriber that runs inside a server process: records every delivery attempt, and each event once per
    /// subscriber under a unique key, in the server's PostgreSQL database. Idempotent handling on at-least-once
    /// delivery: duplicates show in the attempts, never in the receipts.
    /// </summary>
    public sealed class DbRecordingSubscriber(string name, Db db) : IEventSubscriber
    {
        public const string CreateTablesSql = """
            CREATE TABLE test_event_attempts (subscriber text NOT NULL, event_id uuid NOT NULL, pid integer NOT NULL);
            CREATE TABLE test_event_receipts (subscriber text NOT NULL, event_id uuid NOT NULL, pid integer NOT NULL, PRIMARY KEY (subscriber, event_id));
            """;

        public string Name => name;

        public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct)
        {
            var ids = events.Select(e => e.EventId).ToArray();
            await using var connection = (NpgsqlConnection)await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            foreach (var sql in new[]
            {
                "INSERT INTO test_event_attempts (subscriber, event_id, pid) SELECT @name, unnest(@ids), @pid",
                "INSERT INTO test_event_receipts (subscriber, event_id, pid) SELECT @name, unnest(@ids), @pid ON CONFLICT DO NOTHING",
            })
            {
                await using var cmd = new NpgsqlCommand(sql, connection, tx);
                cmd.Parameters.AddWithValue("name", name);
                cmd.Parameters.AddWithValue("ids", ids);
                cmd.Parameters.AddWithValue("pid", Environment.ProcessId);
                await cmd.ExecuteNonQueryAsync(ct);
            }
            await tx.CommitAsync(ct);
        }
    }
}
