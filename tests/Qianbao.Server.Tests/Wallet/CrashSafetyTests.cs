using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Wallet;

/// <summary>
/// An acknowledged (2xx) operation survives a crash: the real server runs as its own process, several clients
/// stream transfers at it, it is killed with SIGKILL mid-stream, restarted on the same data, and every
/// acknowledged transfer is still there exactly once.
/// </summary>
public abstract class CrashSafetyTests(DatabaseEngine engine, ITestOutputHelper log)
{
    private const string OperatorKey = "crash-test-operator-key";
    private const long TopUpAmount = 10_000_000;
    private const long TransferAmount = 3;
    private const int Clients = 8;
    private const int AcknowledgedBeforeKill = 300;
    private const int TransfersPerClientMax = 20_000;
    private const int ParallelChecks = 8;
    private const int HistoryPageSize = 100;
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan ClientsStopTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task AcknowledgedTransfersSurviveSigkillAndReplayToTheSameIds()
    {
        var clock = Stopwatch.StartNew();
        var dataDir = Directory.CreateTempSubdirectory("qianbao-crash-").FullName;
        try
        {
            var postgres = engine == DatabaseEngine.Postgres ? await PostgresCluster.Shared.CreateDatabaseAsync("crash") : null;
            var settings = new ServerSettings(dataDir, postgres, OperatorKey);

            // ---- first life: set up, then stream transfers and kill the server in the middle of it
            var acknowledged = new ConcurrentDictionary<string, Acknowledged>();
            var unresolved = new ConcurrentBag<string>();
            var unexpected = new ConcurrentBag<string>();
            WalletClient payer, payee;
            long attempted;
            await using (var first = await ServerProcess.StartAsync(settings))
            {
                log.WriteLine($"{engine}: first server (pid {first.ProcessId}) ready at {clock.ElapsedMilliseconds} ms");
                using var http = first.CreateClient();
                payer = await WalletClient.RegisterAsync(http, "Payer");
                payee = await WalletClient.RegisterAsync(http, "Payee");
                await payer.TopUpAsync(TopUpAmount);

                var sent = 0L;
                var loadStarted = clock.ElapsedMilliseconds;
                log.WriteLine($"{engine}: users registered and topped up; load starts at {loadStarted} ms");
                var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
                {
                    for (var i = 0; i < TransfersPerClientMax; i++)
                    {
                        var key = $"crash-{c}-{i}";
                        Interlocked.Increment(ref sent);
                        var outcome = await TryTransferAsync(payer, payee, key);
                        switch (outcome)
                        {
                            case Acknowledged ack:
                                acknowledged[key] = ack;
                                break;
                            case null:
                                // The server went away with this request unanswered: its outcome is unknown.
                                unresolved.Add(key);
                                return;
                            default:
                                unexpected.Add($"{key}: {outcome}");
                                return;
                        }
                    }
                })).ToArray();

                await Poll.UntilAsync(() => Task.FromResult(acknowledged.Count >= AcknowledgedBeforeKill || !unexpected.IsEmpty || clients.All(t => t.IsCompleted)),
                    $"{AcknowledgedBeforeKill} acknowledged transfers", (int)LoadTimeout.TotalMilliseconds);
                unexpected.ShouldBeEmpty();
                var acknowledgedAtKill = acknowledged.Count;
                log.WriteLine($"{engine}: SIGKILL after {acknowledgedAtKill} acknowledgements in {clock.ElapsedMilliseconds - loadStarted} ms of load");
                await first.KillAsync();
                log.WriteLine($"{engine}: server gone at {clock.ElapsedMilliseconds} ms");
                await Task.WhenAll(clients).WaitAsync(ClientsStopTimeout);
                attempted = Interlocked.Read(ref sent);
            }

            unexpected.ShouldBeEmpty();
            acknowledged.Count.ShouldBeGreaterThanOrEqualTo(AcknowledgedBeforeKill);
            // Every client was still streaming when the server died (none ran out of work first).
            unresolved.Count.ShouldBe(Clients);
            attempted.ShouldBe(acknowledged.Count + unresolved.Count);
            log.WriteLine($"{engine}: {acknowledged.Count} acknowledged, {unresolved.Count} unresolved at {clock.ElapsedMilliseconds} ms");

            // ---- second life: same data directory / database
            await using var second = await ServerProcess.StartAsync(settings);
            log.WriteLine($"{engine}: restarted (pid {second.ProcessId}) at {clock.ElapsedMilliseconds} ms");
            using var http2 = second.CreateClient();
            // Tokens are signed with a key kept in the database, so they outlive the process.
            payer = new WalletClient(http2, payer.UserId, payer.Phone, payer.Token);
            payee = new WalletClient(http2, payee.UserId, payee.Phone, payee.Token);

            // Every acknowledged transfer is readable by the payer.
            var unreadable = new ConcurrentBag<string>();
            await Parallel.ForEachAsync(acknowledged.Values, new ParallelOptions { MaxDegreeOfParallelism = ParallelChecks }, async (ack, _) =>
            {
                using var response = await payer.GetAsync($"/v1/transfers/{ack.Id}");
                var text = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    unreadable.Add($"{ack.Id}: {(int)response.StatusCode} {text}");
                    return;
                }
                var transfer = JsonNode.Parse(text)!;
                if (transfer["amount"]!.GetValue<long>() != TransferAmount || transfer["direction"]!.GetValue<string>() != "out")
                    unreadable.Add($"{ack.Id}: {text}");
            });
            unreadable.ShouldBeEmpty();

            // The ledger holds every acknowledged transfer, and at most the unresolved ones besides; balances agree with it.
            var inLedger = await PayeeTransferIdsAsync(payee);
            var acknowledgedIds = acknowledged.Values.Select(a => a.Id).ToHashSet();
            acknowledgedIds.Except(inLedger).ShouldBeEmpty();
            inLedger.Count.ShouldBeLessThanOrEqualTo(acknowledged.Count + unresolved.Count);
            (await payee.AvailableAsync()).ShouldBe(inLedger.Count * TransferAmount);
            (await payee.AvailableAsync()).ShouldBeGreaterThanOrEqualTo(acknowledged.Count * TransferAmount);
            (await payer.AvailableAsync()).ShouldBe(TopUpAmount - inLedger.Count * TransferAmount);
            await AssertLedgerCheckOkAsync(http2);
            log.WriteLine($"{engine}: ledger has {inLedger.Count} transfers ({inLedger.Count - acknowledged.Count} of the unresolved) at {clock.ElapsedMilliseconds} ms");

            // Replaying an acknowledged key answers the first response again and moves nothing.
            var replayMismatches = new ConcurrentBag<string>();
            await Parallel.ForEachAsync(acknowledged, new ParallelOptions { MaxDegreeOfParallelism = ParallelChecks }, async (entry, _) =>
            {
                var replay = await TryTransferAsync(payer, payee, entry.Key);
                if (replay is not Acknowledged again || again.Id != entry.Value.Id || again.Body != entry.Value.Body)
                    replayMismatches.Add($"{entry.Key}: first {entry.Value.Id}, replay {replay}");
            });
            replayMismatches.ShouldBeEmpty();
            (await PayeeTransferIdsAsync(payee)).SetEquals(inLedger).ShouldBeTrue("replays of acknowledged keys must not add transfers");
            (await payee.AvailableAsync()).ShouldBe(inLedger.Count * TransferAmount);

            // A client that lost its answer in the crash retries with the same key: each key ends as exactly one transfer.
            var retried = new ConcurrentDictionary<string, Guid>();
            foreach (var key in unresolved)
            {
                var retry = await TryTransferAsync(payer, payee, key);
                (retry as Acknowledged).ShouldNotBeNull($"retry of {key}: {retry}");
                retried[key] = ((Acknowledged)retry!).Id;
            }
            var finalIds = await PayeeTransferIdsAsync(payee);
            finalIds.SetEquals(acknowledgedIds.Concat(retried.Values)).ShouldBeTrue();
            finalIds.Count.ShouldBe(acknowledged.Count + unresolved.Count);
            (await payee.AvailableAsync()).ShouldBe(finalIds.Count * TransferAmount);
            (await payer.AvailableAsync()).ShouldBe(TopUpAmount - finalIds.Count * TransferAmount);
            await AssertLedgerCheckOkAsync(http2);
            log.WriteLine($"{engine}: verified at {clock.ElapsedMilliseconds} ms");
        }
        finally
        {
            TryDelete(dataDir);
        }
    }

    /// <summary>What a 201 said: the transfer id and the exact body (a replay must answer the same bytes).</summary>
    private sealed record Acknowledged(Guid Id, string Body);

    /// <summary>One transfer attempt: the acknowledgement, null when the server vanished mid-request, or a description of any other answer.</summary>
    private static async Task<object?> TryTransferAsync(WalletClient payer, WalletClient payee, string key)
    {
        try
        {
            using var response = await payer.PostAsync("/v1/transfers", new { to_user_id = payee.UserId, amount = TransferAmount }, key);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.Created) return $"{(int)response.StatusCode} {body}";
            return new Acknowledged(JsonNode.Parse(body)!["id"]!.GetValue<Guid>(), body);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>The ids of every transfer in the payee's history, read page by page (bounded).</summary>
    private static async Task<HashSet<Guid>> PayeeTransferIdsAsync(WalletClient payee)
    {
        var ids = new HashSet<Guid>();
        string? cursor = null;
        for (var page = 0; page < Clients * TransfersPerClientMax / HistoryPageSize + 2; page++)
        {
            var json = await payee.GetJsonAsync($"/v1/transactions?type=transfer&limit={HistoryPageSize}" + (cursor is null ? "" : "&cursor=" + cursor));
            foreach (var item in json["items"]!.AsArray())
            {
                item!["direction"]!.GetValue<string>().ShouldBe("credit");
                item["amount"]!.GetValue<long>().ShouldBe(TransferAmount);
                ids.Add(item["id"]!.GetValue<Guid>()).ShouldBeTrue("the history lists each transfer once");
            }
            cursor = json["next_cursor"]?.GetValue<string>();
            if (cursor is null) return ids;
        }
        throw new InvalidOperationException("the payee's history has more pages than transfers were ever sent");
    }

    private static async Task AssertLedgerCheckOkAsync(HttpClient http)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/ledger/check");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OperatorKey);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        JsonNode.Parse(text)!["ok"]!.GetValue<bool>().ShouldBeTrue(text);
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS's temp cleaning.
        }
    }
}

public sealed class SqliteCrashSafetyTests(ITestOutputHelper log) : CrashSafetyTests(DatabaseEngine.Sqlite, log);

public sealed class PostgresCrashSafetyTests(ITestOutputHelper log) : CrashSafetyTests(DatabaseEngine.Postgres, log);
