using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Operators;

/// <summary>
/// Operator accounts: an owner invites, the person accepts once (password + TOTP secret), logs in with a TOTP code accepted
/// once, and the token works for their role; any wrong credential is 401 invalid_credentials; disabling revokes at once.
/// </summary>
public abstract class OperatorAccountTests<THost>(THost host) : IClassFixture<THost> where THost : SecureHost
{
    [Fact]
    public async Task Invitation_accept_and_login_with_totp_give_a_token_of_the_role()
    {
        var http = host.CreateClient();
        var email = OperatorSupport.NewEmail("risk");
        var invited = await OperatorSupport.SendAsync(http, HttpMethod.Post, "/admin/v1/operators", host.OperatorKey, new { email = " " + email.ToUpperInvariant(), name = "Wang Risk", role = "risk" })
            .JsonAsync(HttpStatusCode.Created);
        invited["email"]!.GetValue<string>().ShouldBe(email);
        invited["role"]!.GetValue<string>().ShouldBe("risk");
        var id = invited["id"]!.GetValue<Guid>();
        var token = invited["invitation_token"]!.GetValue<string>();

        // The same e-mail again is a conflict; a bad role or address is refused.
        await (await OperatorSupport.SendAsync(http, HttpMethod.Post, "/admin/v1/operators", host.OperatorKey, new { email, name = "x", role = "risk" }))
            .ShouldBeProblemAsync(409, "operator_exists");
        await (await OperatorSupport.SendAsync(http, HttpMethod.Post, "/admin/v1/operators", host.OperatorKey, new { email = "a@b.example", name = "x", role = "admin" }))
            .ShouldBeProblemAsync(400, "invalid_role");
        await (await OperatorSupport.SendAsync(http, HttpMethod.Post, "/admin/v1/operators", host.OperatorKey, new { email = "not-an-address", name = "x", role = "risk" }))
            .ShouldBeProblemAsync(400, "invalid_email");

        // Before accepting, nobody can log in as the operator.
        await (await http.PostAsJsonAsync("/admin/v1/auth/token", new { email, password = OperatorSupport.Password, totp = "123456" }))
            .ShouldBeProblemAsync(401, "invalid_credentials");
        await (await http.PostAsJsonAsync($"/admin/v1/operators/invitations/{token}/accept", new { password = "short" })).ShouldBeProblemAsync(400, "invalid_password");
        var secret = await OperatorSupport.AcceptAsync(http, token, OperatorSupport.Password);
        // One-time.
        await (await http.PostAsJsonAsync($"/admin/v1/operators/invitations/{token}/accept", new { password = OperatorSupport.Password }))
            .ShouldBeProblemAsync(404, "invalid_invitation");

        var now = host.Clock.GetUtcNow();
        await (await http.PostAsJsonAsync("/admin/v1/auth/token", new { email, password = "wrong password 1", totp = OperatorSupport.Code(secret, now) }))
            .ShouldBeProblemAsync(401, "invalid_credentials");
        await (await http.PostAsJsonAsync("/admin/v1/auth/token", new { email, password = OperatorSupport.Password, totp = "000000" == OperatorSupport.Code(secret, now) ? "111111" : "000000" }))
            .ShouldBeProblemAsync(401, "invalid_credentials");
        await (await http.PostAsJsonAsync("/admin/v1/auth/token", new { email, password = OperatorSupport.Password }))
            .ShouldBeProblemAsync(401, "invalid_credentials");
        var access = await OperatorSupport.LoginAsync(http, email, OperatorSupport.Password, OperatorSupport.Code(secret, now));
        // The same code a second time is refused: a TOTP code is accepted once.
        await (await http.PostAsJsonAsync("/admin/v1/auth/token", new { email, password = OperatorSupport.Password, totp = OperatorSupport.Code(secret, now) }))
            .ShouldBeProblemAsync(401, "invalid_credentials");

        // The token is a risk operator's: the audit log yes, operators no.
        (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/audit/verify", access)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/operators", access)).ShouldBeProblemAsync(403, "forbidden");

        var list = await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/operators", host.OperatorKey).JsonAsync();
        var mine = list["items"]!.AsArray().Single(i => i!["id"]!.GetValue<Guid>() == id)!;
        mine["status"]!.GetValue<string>().ShouldBe("active");
        mine["role"]!.GetValue<string>().ShouldBe("risk");
        mine["created_by"]!.GetValue<string>().ShouldBe("bootstrap");
    }

    [Fact]
    public async Task An_expired_invitation_cannot_be_accepted()
    {
        var http = host.CreateClient();
        var invited = await OperatorSupport.SendAsync(http, HttpMethod.Post, "/admin/v1/operators", host.OperatorKey,
            new { email = OperatorSupport.NewEmail("support"), name = "Late", role = "support" }).JsonAsync(HttpStatusCode.Created);
        host.Clock.Advance(TimeSpan.FromHours(72) + TimeSpan.FromMinutes(1));
        await (await http.PostAsJsonAsync($"/admin/v1/operators/invitations/{invited["invitation_token"]!.GetValue<string>()}/accept",
            new { password = OperatorSupport.Password })).ShouldBeProblemAsync(404, "invalid_invitation");
        await (await http.PostAsJsonAsync("/admin/v1/operators/invitations/garbage/accept", new { password = OperatorSupport.Password }))
            .ShouldBeProblemAsync(404, "invalid_invitation");
    }

    [Fact]
    public async Task Disabling_an_operator_refuses_its_token_at_once_and_its_logins()
    {
        var http = host.CreateClient();
        var finance = await OperatorSupport.CreateAsync(host, http, "finance");
        (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/ledger/check", finance.AccessToken)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // An operator owner (not the bootstrap key) disables it.
        var owner = await OperatorSupport.CreateAsync(host, http, "owner");
        var disabled = await OperatorSupport.SendAsync(http, HttpMethod.Post, $"/admin/v1/operators/{finance.Id}/disable", owner.AccessToken).JsonAsync();
        disabled["status"]!.GetValue<string>().ShouldBe("disabled");

        await (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/ledger/check", finance.AccessToken)).ShouldBeProblemAsync(401, "unauthorized");
        host.Clock.Advance(TimeSpan.FromSeconds(31));
        await (await http.PostAsJsonAsync("/admin/v1/auth/token",
                new { email = finance.Email, password = finance.Password, totp = OperatorSupport.Code(finance.TotpSecret, host.Clock.GetUtcNow()) }))
            .ShouldBeProblemAsync(401, "invalid_credentials");
        // Again is a no-op; an unknown id is 404; only owners disable.
        (await OperatorSupport.SendAsync(http, HttpMethod.Post, $"/admin/v1/operators/{finance.Id}/disable", host.OperatorKey)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await OperatorSupport.SendAsync(http, HttpMethod.Post, $"/admin/v1/operators/{Guid.NewGuid()}/disable", host.OperatorKey)).ShouldBeProblemAsync(404, "not_found");
        var list = await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/operators", owner.AccessToken).JsonAsync();
        list["items"]!.AsArray().Single(i => i!["id"]!.GetValue<Guid>() == finance.Id)!["status"]!.GetValue<string>().ShouldBe("disabled");
    }

    [Fact]
    public async Task Logins_are_limited_per_email()
    {
        var http = host.CreateClient();
        var support = await OperatorSupport.CreateAsync(host, http, "support");
        // The login above was one attempt; at most 10 in a window (fixed windows: the count may restart once at a boundary).
        (await AttemptsBeforeLockAsync(http, support.Email)).ShouldBeLessThanOrEqualTo(10);
        var refused = await http.PostAsJsonAsync("/admin/v1/auth/token",
            new { email = support.Email, password = support.Password, totp = OperatorSupport.Code(support.TotpSecret, host.Clock.GetUtcNow()) });
        await refused.ShouldBeProblemAsync(429, "too_many_attempts");
        refused.Headers.RetryAfter.ShouldNotBeNull();
        // Unknown e-mails are limited the same way, so the limit does not tell which exist.
        (await AttemptsBeforeLockAsync(http, OperatorSupport.NewEmail("nobody"))).ShouldBeInRange(9, 10);
    }

    /// <summary>Wrong logins until the first 429; how many were answered 401 before it (each one exactly invalid_credentials).</summary>
    private static async Task<int> AttemptsBeforeLockAsync(HttpClient http, string email)
    {
        for (var i = 0; i < 22; i++)
        {
            var response = await http.PostAsJsonAsync("/admin/v1/auth/token", new { email, password = "wrong password " + i, totp = "123456" });
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await response.ShouldBeProblemAsync(429, "too_many_attempts");
                return i;
            }
            await response.ShouldBeProblemAsync(401, "invalid_credentials");
        }
        throw new ShouldAssertException("no lock after 22 wrong logins");
    }
}

public sealed class SqliteOperatorAccountTests(SecureSqliteHost host) : OperatorAccountTests<SecureSqliteHost>(host);

public sealed class PostgresOperatorAccountTests(SecurePostgresHost host) : OperatorAccountTests<SecurePostgresHost>(host);
