using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Operators;

/// <summary>
/// The role matrix: every <c>/admin/v1</c> route the server maps (read from its endpoint data source, so routes added later
/// are covered) × owner, risk, support, finance (operator tokens), the bootstrap key, a disabled operator's token and no
/// token. A role the route's declared roles (its <c>OperatorRoles</c> metadata) allow is never refused 401/403; any other
/// role is 403 <c>forbidden</c>; a disabled operator and no token are 401. The roles the issue prescribes are held as a
/// fixed table for the routes that exist today.
/// </summary>
public abstract class RoleMatrixTests<THost>(THost host) : IClassFixture<THost> where THost : SecureHost
{
    private static readonly string[] Roles = ["owner", "risk", "support", "finance"];

    /// <summary>The issue's matrix for today's routes: the roles besides owner (owner is always allowed).</summary>
    private static readonly Dictionary<string, string[]> Expected = new()
    {
        ["POST /admin/v1/operators"] = [],
        ["GET /admin/v1/operators"] = [],
        ["POST /admin/v1/operators/{id}/disable"] = [],
        ["GET /admin/v1/audit"] = ["risk"],
        ["GET /admin/v1/audit/verify"] = ["risk"],
        ["GET /admin/v1/users/{id}"] = ["risk", "support"],
        ["POST /admin/v1/users/{id}/freeze"] = ["risk"],
        ["POST /admin/v1/users/{id}/unfreeze"] = ["risk"],
        ["POST /admin/v1/users/{id}/tier"] = ["risk"],
        ["GET /admin/v1/ledger/check"] = ["finance"],
        ["POST /admin/v1/merchants/{id}/payouts"] = ["finance"],
        ["GET /admin/v1/merchants/{id}/payouts/{payoutId}"] = ["finance"],
        ["POST /admin/v1/merchants"] = ["risk"],
        ["POST /admin/v1/merchants/{id}/verify"] = ["risk"],
        ["GET /admin/v1/merchants/signups"] = ["risk"],
        ["POST /admin/v1/merchants/{id}/reject"] = ["risk"],
        ["GET /admin/v1/merchants/{id}"] = ["risk", "support", "finance"],
        ["POST /admin/v1/merchants/{id}/apps"] = [],
        ["GET /admin/v1/platform-keys"] = [],
        ["POST /admin/v1/platform-keys/rotate"] = [],
        ["GET /admin/v1/sandbox/messages"] = ["support"],
        ["GET /admin/v1/notifications"] = ["support"],
        ["POST /admin/v1/notifications/{id}/replay"] = ["support"],
    };

    private static readonly string[] Anonymous = ["POST /admin/v1/operators/invitations/{token}/accept", "POST /admin/v1/auth/token"];

    private IReadOnlyList<(string Method, string Pattern, string[]? Allowed, bool Anonymous)> AdminRoutes() =>
        [.. host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/admin/v1/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m =>
            {
                var allowed = e.Metadata.GetMetadata<OperatorRoles>()?.Describe().Split(", ");
                var anonymous = e.Metadata.GetMetadata<AnonymousOperatorRoute>() is not null;
                return (m, e.RoutePattern.RawText!, allowed, anonymous);
            }))];

    [Fact]
    public void Every_admin_route_declares_its_roles_and_today_s_routes_have_the_issue_s()
    {
        var routes = AdminRoutes();
        routes.Count.ShouldBeGreaterThanOrEqualTo(Expected.Count + Anonymous.Length);
        routes.Where(r => r.Allowed is null && !r.Anonymous).Select(r => $"{r.Method} {r.Pattern}").ShouldBeEmpty("every /admin/v1 route has RequireOperator(roles)");
        routes.Where(r => r.Anonymous).Select(r => $"{r.Method} {r.Pattern}").Order().ShouldBe(Anonymous.Order());
        foreach (var (route, roles) in Expected)
        {
            var found = routes.Where(r => $"{r.Method} {r.Pattern}" == route).ToList();
            found.Count.ShouldBe(1, route);
            found[0].Allowed!.ShouldBe((string[])["owner", .. roles], route);
        }
    }

    [Fact]
    public async Task Each_role_is_allowed_or_refused_exactly_as_each_route_declares()
    {
        var http = host.CreateClient();
        var tokens = new Dictionary<string, string?>();
        foreach (var role in Roles) tokens[role] = (await OperatorSupport.CreateAsync(host, http, role)).AccessToken;
        var disabled = await OperatorSupport.CreateAsync(host, http, "risk");
        (await OperatorSupport.SendAsync(http, HttpMethod.Post, $"/admin/v1/operators/{disabled.Id}/disable", host.OperatorKey)).StatusCode.ShouldBe(HttpStatusCode.OK);
        tokens["bootstrap"] = host.OperatorKey;
        tokens["disabled"] = disabled.AccessToken;
        tokens["none"] = null;

        var failures = new List<string>();
        foreach (var (method, pattern, allowed, anonymous) in AdminRoutes())
        {
            if (anonymous) continue;
            var path = System.Text.RegularExpressions.Regex.Replace(pattern, @"\{[^}]+\}", Guid.NewGuid().ToString());
            foreach (var (who, token) in tokens)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method is not ("GET" or "DELETE")) request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
                request.Headers.TryAddWithoutValidation("Idempotency-Key", "k-" + Guid.NewGuid().ToString("N"));
                using var response = await http.SendAsync(request);
                var status = (int)response.StatusCode;
                var code = status is 401 or 403 ? JsonNode.Parse(await response.Content.ReadAsStringAsync())?["code"]?.GetValue<string>() : null;
                var expected = who switch
                {
                    "none" or "disabled" => "401 unauthorized",
                    "bootstrap" => "allowed",
                    _ => allowed!.Contains(who) ? "allowed" : "403 forbidden",
                };
                var actual = status is 401 or 403 ? $"{status} {code}" : "allowed";
                if (actual != expected) failures.Add($"{method} {pattern} as {who}: expected {expected}, got {status} {code}");
            }
        }
        failures.ShouldBeEmpty(string.Join("\n", failures) + "\n" + host.Logs.Recent());
    }

    /// <summary>The merchant routes of the native API's apps, keys and notify deliveries, complaints and followers: the staff roles besides admin (admin is always allowed).</summary>
    private static readonly Dictionary<string, string[]> ExpectedMerchant = new()
    {
        ["GET /merchant/v1/apps"] = ["cashier", "analyst"],
        ["PUT /merchant/v1/apps/{app_id}/notify-url"] = [],
        ["PUT /merchant/v1/apps/{app_id}/public-key"] = [],
        ["GET /merchant/v1/notify-deliveries"] = ["cashier", "analyst"],
        ["POST /merchant/v1/notify-deliveries/{id}/replay"] = [],
        ["GET /merchant/v1/vouchers"] = ["cashier", "analyst"],
        ["POST /merchant/v1/vouchers"] = [],
        ["POST /merchant/v1/vouchers/{id}/stop"] = [],
        ["GET /merchant/v1/member-programme"] = ["cashier", "analyst"],
        ["GET /merchant/v1/members"] = ["cashier", "analyst"],
        ["GET /merchant/v1/complaints"] = ["cashier", "analyst"],
        ["GET /merchant/v1/complaints/{id}"] = ["cashier", "analyst"],
        ["POST /merchant/v1/complaints/{id}/replies"] = ["cashier"],
        ["GET /merchant/v1/followers"] = ["cashier", "analyst"],
        ["POST /merchant/v1/followers/{user_id}/messages"] = [],
    };

    [Fact]
    public async Task Each_merchant_staff_role_is_allowed_or_refused_as_each_merchant_route_declares()
    {
        var http = host.CreateClient();
        var routes = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => (Endpoint: e, Description: e.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IEndpointDescriptionMetadata>()?.Description))
            .Where(e => e.Description?.StartsWith("Merchant roles: ", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m =>
                (Route: $"{m} {e.Endpoint.RoutePattern.RawText}", Method: m, Pattern: e.Endpoint.RoutePattern.RawText!,
                 Allowed: e.Description!["Merchant roles: ".Length..].TrimEnd('.').Split(", "))))
            .ToList();
        foreach (var (route, roles) in ExpectedMerchant)
            routes.Single(r => r.Route == route).Allowed.Order().ShouldBe(((string[])["admin", .. roles]).Order(), route);

        var admin = await MerchantAccounts.SignupAsync(http, host.OperatorKey, relaxed: false);
        await MerchantAccounts.ApproveAsync(http, host.OperatorKey, admin.MerchantId);
        var adminToken = await MerchantAccounts.LoginAsync(http, admin, host.Clock.GetUtcNow());
        var tokens = new Dictionary<string, string?>
        {
            ["admin"] = adminToken,
            ["cashier"] = await MerchantAccounts.LoginAsync(http, await MerchantAccounts.AddStaffAsync(http, adminToken, admin.MerchantId, "cashier")),
            ["analyst"] = await MerchantAccounts.LoginAsync(http, await MerchantAccounts.AddStaffAsync(http, adminToken, admin.MerchantId, "analyst")),
            ["none"] = null,
            ["operator"] = host.OperatorKey,
        };
        var failures = new List<string>();
        foreach (var (route, method, pattern, allowed) in routes)
        {
            var path = System.Text.RegularExpressions.Regex.Replace(pattern, @"\{[^}]+\}", Guid.NewGuid().ToString());
            foreach (var (who, token) in tokens)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method is not ("GET" or "DELETE")) request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
                request.Headers.TryAddWithoutValidation("Idempotency-Key", "k-" + Guid.NewGuid().ToString("N"));
                using var response = await http.SendAsync(request);
                var status = (int)response.StatusCode;
                var code = status is 401 or 403 ? JsonNode.Parse(await response.Content.ReadAsStringAsync())?["code"]?.GetValue<string>() : null;
                var expected = who switch
                {
                    "none" or "operator" => "401 unauthorized",
                    _ => allowed.Contains(who) ? "allowed" : "403 forbidden",
                };
                var actual = status is 401 or 403 ? $"{status} {code}" : "allowed";
                if (actual != expected) failures.Add($"{route} as {who}: expected {expected}, got {status} {code}");
            }
        }
        failures.ShouldBeEmpty(string.Join("\n", failures) + "\n" + host.Logs.Recent());
    }
}

public sealed class SqliteRoleMatrixTests(SecureSqliteHost host) : RoleMatrixTests<SecureSqliteHost>(host);

public sealed class PostgresRoleMatrixTests(SecurePostgresHost host) : RoleMatrixTests<SecurePostgresHost>(host);
