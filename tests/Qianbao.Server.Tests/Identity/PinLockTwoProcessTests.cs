using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Identity;

/// <summary>
/// The spending path keeps each person's PIN state in memory per process (UserStates); a lock decided through one process must
/// reach the other over LISTEN/NOTIFY, so that it stops accepting the right PIN from what it kept. Two real server processes on
/// one PostgreSQL database: the payer pays through B (B keeps a clean PIN state), locks the PIN with wrong ones through A, and
/// within 5 seconds B answers the right PIN with pin_locked. The probe asks more than the balance, so a stale acceptance
/// would answer insufficient funds and move nothing.
/// </summary>
public sealed class PinLockTwoProcessTests
{
    private const string OperatorKey = "pin-lock-two-process-key";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_pin_locked_through_one_process_is_locked_in_the_other()
    {
        var postgres = await PostgresCluster.Shared.CreateDatabaseAsync("pinlock2p");
        var configuration = new Dictionary<string, string> { ["Qianbao:Security:Relaxed"] = "false", ["Qianbao:Security:NewDeviceStepUpHours"] = "0" };
        await using var servers = await ServerPair.StartAsync(postgres, OperatorKey, "pinlock", configuration);
        var (a, b) = (servers.A, servers.B);
        using var httpA = a.CreateClient();
        using var httpB = b.CreateClient();

        var payer = await SecureUser.CreateAsync(httpA, OperatorKey, "王小明");
        var friend = await SecureUser.CreateAsync(httpA, OperatorKey, "李磊");
        await payer.TopUpAsync(2_000);
        // Through B with the right PIN: B now holds the payer's clean PIN state.
        (await TransferAsync(httpB, payer, friend, 1_000, SecureUser.Pin)).StatusCode.ShouldBe(HttpStatusCode.Created);

        // Five wrong PINs through A lock payments.
        string lastCode = "";
        for (var i = 0; i < 5; i++)
            lastCode = await CodeAsync(await TransferAsync(httpA, payer, friend, 100, "246801"));
        lastCode.ShouldBe("pin_locked");

        var clock = Stopwatch.StartNew();
        while (true)
        {
            var code = await CodeAsync(await TransferAsync(httpB, payer, friend, 1_000_000, SecureUser.Pin));
            if (code == "pin_locked") break;
            code.ShouldBe("insufficient_funds");
            clock.Elapsed.ShouldBeLessThan(Deadline, "process B still accepts the right PIN from what it kept before the lock");
            await Task.Delay(50);
        }
        (await payer.AvailableAsync()).ShouldBe(1_000);
    }

    private static Task<HttpResponseMessage> TransferAsync(HttpClient http, SecureUser from, SecureUser to, long amountMinor, string pin)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/transfers")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { to_user_id = to.UserId, amount = amountMinor, currency = "CNY" }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", from.AccessToken);
        request.Headers.Add("X-Payment-Pin", pin);
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        return http.SendAsync(request);
    }

    private static async Task<string> CodeAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())?["code"]?.GetValue<string>() ?? response.StatusCode.ToString();
}
