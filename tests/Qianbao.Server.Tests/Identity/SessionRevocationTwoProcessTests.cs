using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Identity;

/// <summary>
/// Item 2 across processes: two real server processes on one PostgreSQL database, account security on. A session
/// revoked through one is refused by it at once and by the other within 5 seconds, though tokens are checked without
/// a database read (each process keeps the revoked sessions in memory and loads new revocations every second).
/// </summary>
public sealed class SessionRevocationTwoProcessTests
{
    private const string OperatorKey = "sessions-two-process-key";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_session_revoked_on_one_process_is_refused_by_the_other_within_five_seconds()
    {
        var postgres = await PostgresCluster.Shared.CreateDatabaseAsync("sessions2p");
        var configuration = new Dictionary<string, string> { ["Qianbao:Security:Relaxed"] = "false" };
        await using var servers = await ServerPair.StartAsync(postgres, OperatorKey, "sess", configuration);
        var (a, b) = (servers.A, servers.B);
        using var httpA = a.CreateClient();
        using var httpB = b.CreateClient();

        var user = await SecureUser.CreateAsync(httpA, OperatorKey, setPin: false, verifyIdentity: false);
        var (second, _) = await SecureUser.LoginAsync(httpB, OperatorKey, user.Phone, SecureUser.Password, user.DeviceId);
        (await MeStatusAsync(httpB, user.AccessToken)).ShouldBe(HttpStatusCode.OK);
        (await MeStatusAsync(httpA, second)).ShouldBe(HttpStatusCode.OK);

        // Logout through A: A refuses at once, B within the deadline.
        await RevokedWithinDeadlineAsync(httpA, httpB, user.AccessToken, () => SendAsync(httpA, HttpMethod.Post, "/v1/auth/logout", user.AccessToken));
        // Deleting the other session through B: the same the other way round.
        var sessions = await SendAsync(httpB, HttpMethod.Get, "/v1/sessions", second);
        var secondId = System.Text.Json.Nodes.JsonNode.Parse(await sessions.Content.ReadAsStringAsync())!["items"]!.AsArray()
            .Single(i => i!["current"]!.GetValue<bool>())!["id"]!.GetValue<Guid>();
        (await MeStatusAsync(httpA, second)).ShouldBe(HttpStatusCode.OK);
        var fresh = (await SecureUser.LoginAsync(httpB, OperatorKey, user.Phone, SecureUser.Password, user.DeviceId)).Access;
        await RevokedWithinDeadlineAsync(httpB, httpA, second, () => SendAsync(httpB, HttpMethod.Delete, $"/v1/sessions/{secondId}", fresh));
        (await MeStatusAsync(httpA, fresh)).ShouldBe(HttpStatusCode.OK);
    }

    private static async Task RevokedWithinDeadlineAsync(HttpClient revoker, HttpClient other, string token, Func<Task<HttpResponseMessage>> revoke)
    {
        (await revoke()).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var clock = Stopwatch.StartNew();
        (await MeStatusAsync(revoker, token)).ShouldBe(HttpStatusCode.Unauthorized, "the revoking process refuses the token at once");
        while (await MeStatusAsync(other, token) != HttpStatusCode.Unauthorized)
        {
            clock.Elapsed.ShouldBeLessThan(Deadline, "the other process still accepts a revoked session's token");
            await Task.Delay(50);
        }
        clock.Elapsed.ShouldBeLessThan(Deadline);
    }

    private static async Task<HttpStatusCode> MeStatusAsync(HttpClient http, string token) =>
        (await SendAsync(http, HttpMethod.Get, "/v1/me", token)).StatusCode;

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string token)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http.SendAsync(request);
    }
}
