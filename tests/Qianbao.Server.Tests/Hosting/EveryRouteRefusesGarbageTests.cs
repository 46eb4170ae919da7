using System.Net;
using System.Text;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Hosting;

/// <summary>
/// "Bad input gets a clear 4xx; no 5xx for a caller's mistake", held for every route the server maps (found from its
/// endpoint data source, so a route added later is covered without touching this file): each is sent malformed bodies,
/// odd route values and odd security headers, as a person with a token, as the operator, as a merchant's admin and anonymously.
/// </summary>
public abstract class EveryRouteRefusesGarbageTests<THost>(THost host) : IClassFixture<THost> where THost : SecureHost
{
    private static readonly string[] Bodies =
    [
        "", "{", "[]", "null", "\"text\"", "{\"a\":", "{\"amount\":\"x\",\"pin\":123,\"phone\":[],\"code\":{}}",
        "{\"amount\":1e400,\"verification_id\":\"not-a-guid\",\"code\":\"\\u0000\",\"device_id\":\"" + new string('d', 5000) + "\"}",
        "{\"phone\":\"13800138000\",\"password\":null,\"name\":null,\"tier\":42,\"id_number\":\"11010519491231002Y\",\"card_number\":\"4111\"}",
        "{\"refresh_token\":\"qb2.AAAA.BBBB\",\"current_password\":1,\"new_password\":true,\"pin\":\"12345\\u0661\"}",
    ];

    private static readonly string[] RouteValues = ["x", "00000000-0000-0000-0000-000000000000", "%00", new string('9', 300), "-1"];

    [Fact]
    public async Task No_route_answers_a_server_error_to_garbage()
    {
        var http = host.CreateClient();
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        // A merchant admin too, so the /merchant/v1 routes' handlers (past their role filter) get the garbage as well.
        var shop = await MerchantAccounts.SignupAsync(http, host.OperatorKey, relaxed: false);
        await MerchantAccounts.ApproveAsync(http, host.OperatorKey, shop.MerchantId);
        var merchantToken = await MerchantAccounts.LoginAsync(http, shop, host.Clock.GetUtcNow());
        var routes = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Pattern: e.RoutePattern.RawText!)))
            .Where(r => r.Pattern is not null)
            .Distinct()
            .ToList();
        routes.Count.ShouldBeGreaterThan(30, "the server's routes were found");

        var failures = new List<string>();
        foreach (var (method, pattern) in routes)
        {
            foreach (var value in RouteValues)
            {
                var path = "/" + System.Text.RegularExpressions.Regex.Replace(pattern.TrimStart('/'), @"\{[^}]+\}", Uri.EscapeDataString(value));
                foreach (var body in method is "GET" or "DELETE" ? [""] : Bodies)
                {
                    foreach (var credential in (string?[])[null, "Bearer " + user.AccessToken, "Bearer " + host.OperatorKey, "Bearer qb2.garbage.x", "Bearer " + merchantToken])
                    {
                        using var request = new HttpRequestMessage(new HttpMethod(method), path + "?limit=-1&cursor=%ZZ&to=abc&from=x&phone=1&unread=maybe");
                        if (method is not ("GET" or "DELETE")) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                        if (credential is not null) request.Headers.TryAddWithoutValidation("Authorization", credential);
                        request.Headers.TryAddWithoutValidation("Idempotency-Key", "k-" + Guid.NewGuid().ToString("N"));
                        request.Headers.TryAddWithoutValidation("X-Payment-Pin", "12a456");
                        request.Headers.TryAddWithoutValidation("X-Step-Up", "sms=:::");
                        using var response = await http.SendAsync(request);
                        if ((int)response.StatusCode >= 500)
                            failures.Add($"{method} {path} [{credential?[..Math.Min(20, credential.Length)]}] body {body[..Math.Min(40, body.Length)]} → {(int)response.StatusCode}");
                    }
                }
            }
        }
        failures.ShouldBeEmpty(string.Join("\n", failures.Take(30)) + "\n" + host.Logs.Recent());
    }
}

public sealed class SqliteEveryRouteRefusesGarbageTests(SecureSqliteHost host) : EveryRouteRefusesGarbageTests<SecureSqliteHost>(host);

public sealed class PostgresEveryRouteRefusesGarbageTests(SecurePostgresHost host) : EveryRouteRefusesGarbageTests<SecurePostgresHost>(host);
