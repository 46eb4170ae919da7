using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Ledger;

/// <summary>
/// Several server processes on one PostgreSQL stay correct because the database arbitrates: two real server
/// processes, each with its own batching executor, hammer the same accounts at once.
/// </summary>
public sealed class TwoProcessTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private const string OperatorKey = "two-process-operator-key";

    [Fact]
    public async Task TwoServersOnOneDatabaseNeverOverdrawLoseOrDuplicate()
    {
        var postgres = await PostgresCluster.Shared.CreateDatabaseAsync("twoproc");
        var dirs = new[] { Directory.CreateTempSubdirectory("qianbao-a-").FullName, Directory.CreateTempSubdirectory("qianbao-b-").FullName };
        await using var a = await ServerProcess.StartAsync(new ServerSettings(dirs[0], postgres, OperatorKey));
        await using var b = await ServerProcess.StartAsync(new ServerSettings(dirs[1], postgres, OperatorKey));
        try { await RunAsync(a, b); }
        catch
        {
            await using (var c = new Npgsql.NpgsqlConnection(postgres))
            {
                await c.OpenAsync();
                await using var cmd = new Npgsql.NpgsqlCommand("select pid, state, wait_event_type, wait_event, left(query, 120), pg_blocking_pids(pid) from pg_stat_activity where datname = current_database()", c);
                await using var r = await cmd.ExecuteReaderAsync();
                while (await r.ReadAsync())
                    log.WriteLine($"{r.GetValue(0)} {r.GetValue(1)} {r.GetValue(2)} {r.GetValue(3)} [{string.Join(",", (int[])r.GetValue(5))}] {r.GetValue(4)}");
            }
            log.WriteLine("A:\n" + a.RecentOutput);
            log.WriteLine("B:\n" + b.RecentOutput);
            throw;
        }
        foreach (var dir in dirs) Directory.Delete(dir, recursive: true);
    }

    private static async Task RunAsync(ServerProcess a, ServerProcess b)
    {
        var httpA = a.CreateClient();
        var httpB = b.CreateClient();

        // Tokens are signed with a key kept in the shared database, so either server accepts either's tokens.
        var people = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => WalletClient.RegisterAsync(httpA)));
        await Task.WhenAll(people.Select(p => p.TopUpAsync(10_000)));
        var onB = people.Select(p => new WalletClient(httpB, p.UserId, p.Phone, p.Token)).ToArray();

        // 1. Everyone pays everyone through both servers at once: the same four accounts in every batch of both.
        var ring = Enumerable.Range(0, 400).Select(i =>
        {
            var from = i % 4;
            var to = (from + 1 + i / 4 % 3) % 4;
            var client = i % 2 == 0 ? people[from] : onB[from];
            return client.PostAsync("/v1/transfers", new { to_user_id = people[to].UserId, amount = 1 + i % 7 });
        });
        var ringResponses = await Task.WhenAll(ring);
        ringResponses.ShouldAllBe(r => r.StatusCode == HttpStatusCode.Created);
        var balances = await Task.WhenAll(people.Select(p => p.AvailableAsync()));
        balances.Sum().ShouldBe(40_000);

        // 2. A wallet that covers exactly 50 of 200 transfers, split across both servers: exactly 50 succeed.
        var payer = await WalletClient.RegisterAsync(httpA);
        await payer.TopUpAsync(5_000);
        var payerOnB = new WalletClient(httpB, payer.UserId, payer.Phone, payer.Token);
        var drain = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            (i % 2 == 0 ? payer : payerOnB).PostAsync("/v1/transfers", new { to_user_id = people[i % 4].UserId, amount = 100 })));
        drain.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(50);
        drain.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity).ShouldBe(150);
        (await payer.AvailableAsync()).ShouldBe(0);

        // 3. One Idempotency-Key sent to both servers at once, ten times each: one transfer.
        var same = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            (i % 2 == 0 ? people[0] : onB[0]).PostAsync("/v1/transfers", new { to_user_id = people[1].UserId, amount = 11 }, "shared-key")));
        same.ShouldAllBe(r => r.StatusCode == HttpStatusCode.Created);
        (await Task.WhenAll(same.Select(r => r.IdAsync()))).Distinct().Count().ShouldBe(1);

        var total = (await Task.WhenAll(people.Select(p => p.AvailableAsync()))).Sum();
        total.ShouldBe(40_000 + 5_000);

        var admin = a.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", OperatorKey);
        var check = await admin.GetFromJsonAsync<JsonObject>("/admin/v1/ledger/check");
        check!["ok"]!.GetValue<bool>().ShouldBeTrue(check.ToJsonString());
    }
}
