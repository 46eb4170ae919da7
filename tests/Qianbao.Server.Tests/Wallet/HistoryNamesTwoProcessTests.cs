using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Wallet;

/// <summary>
/// The history's counterparty names are kept in memory per process (MaskedNameCache); a name that changes (the account is
/// closed and the name erased) must not be shown by another process from what it kept. Two real server processes on one
/// PostgreSQL database: the friend reads the history through B (which keeps the payer's masked name), the payer closes the
/// account through A, and B shows the erased name within 5 seconds.
/// </summary>
public sealed class HistoryNamesTwoProcessTests
{
    private const string OperatorKey = "history-names-two-process-key";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_name_erased_through_one_process_is_not_shown_by_the_other_from_memory()
    {
        var postgres = await PostgresCluster.Shared.CreateDatabaseAsync("names2p");
        // Account security on, as people pay; a device new to the account needs no step-up for the payment here.
        var configuration = new Dictionary<string, string> { ["Qianbao:Security:Relaxed"] = "false", ["Qianbao:Security:NewDeviceStepUpHours"] = "0" };
        await using var servers = await ServerPair.StartAsync(postgres, OperatorKey, "names", configuration);
        var (a, b) = (servers.A, servers.B);
        using var httpA = a.CreateClient();
        using var httpB = b.CreateClient();

        var payer = await SecureUser.CreateAsync(httpA, OperatorKey, "王小明");
        var friend = await SecureUser.CreateAsync(httpB, OperatorKey, "李磊");
        await payer.TopUpAsync(2_000);
        (await payer.PostAsync("/v1/transfers", new { to_user_id = friend.UserId, amount = 2_000, currency = "CNY" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        // Read twice through B: the second answer may come from B's memory.
        (await PayerNameAsync(friend, payer.UserId)).ShouldBe("**明");
        (await PayerNameAsync(friend, payer.UserId)).ShouldBe("**明");

        var close = new HttpRequestMessage(HttpMethod.Delete, "/v1/me") { Content = JsonContent.Create(new { password = SecureUser.Password }) };
        close.Headers.Authorization = new AuthenticationHeaderValue("Bearer", payer.AccessToken);
        (await httpA.SendAsync(close)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var clock = Stopwatch.StartNew();
        while (await PayerNameAsync(friend, payer.UserId) != "*")
        {
            clock.Elapsed.ShouldBeLessThan(Deadline, "process B still shows the closed account's name from memory");
            await Task.Delay(50);
        }
    }

    private static async Task<string?> PayerNameAsync(SecureUser reader, Guid payerId)
    {
        var items = (await reader.GetJsonAsync("/v1/transactions"))["items"]!.AsArray();
        var item = items.Single(i => i!["counterparty"]?["user_id"]?.GetValue<Guid>() == payerId);
        return item!["counterparty"]!["name_masked"]!.GetValue<string>();
    }
}
