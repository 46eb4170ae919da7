using System.Net;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Operators;

/// <summary>
/// The hash-chained audit log: operator actions (with before/after), reveals and user security events are appended; verify
/// recomputes the chain and finds a row changed or deleted with direct SQL; the table refuses UPDATE and DELETE.
/// </summary>
public abstract class AuditTrailTests<THost>(THost host) : IClassFixture<THost> where THost : SecureHost
{
    private async Task<JsonObject> VerifyAsync(HttpClient http) =>
        await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/audit/verify", host.OperatorKey).JsonAsync();

    private async Task<JsonArray> EntriesAsync(HttpClient http, string query, string? bearer = null) =>
        (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/audit?" + query, bearer ?? host.OperatorKey).JsonAsync())["items"]!.AsArray();

    [Fact]
    public async Task Operator_actions_and_security_events_are_chained_and_verify()
    {
        var http = host.CreateClient();
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, name: "李磊");
        var risk = await OperatorSupport.CreateAsync(host, http, "risk");

        (await OperatorSupport.SendAsync(http, HttpMethod.Post, $"/admin/v1/users/{user.UserId}/freeze", risk.AccessToken, new { reason = "case 42" }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        // A refused call of a role is recorded too.
        (await OperatorSupport.SendAsync(http, HttpMethod.Post, "/admin/v1/platform-keys/rotate", risk.AccessToken)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        var mine = await EntriesAsync(http, "actor=" + risk.Id, risk.AccessToken);
        var freeze = mine.Single(e => e!["action"]!.GetValue<string>() == "POST /admin/v1/users/{id}/freeze")!;
        freeze["role"]!.GetValue<string>().ShouldBe("risk");
        freeze["target"]!.GetValue<string>().ShouldBe(user.UserId.ToString());
        freeze["status"]!.GetValue<int>().ShouldBe(200);
        freeze["before"]!["status"]!.GetValue<string>().ShouldBe("active");
        freeze["after"]!["state"]!["status"]!.GetValue<string>().ShouldBe("frozen");
        freeze["after"]!["reason"]!.GetValue<string>().ShouldBe("case 42");
        freeze["detail"]!["route"]!["id"]!.GetValue<string>().ShouldBe(user.UserId.ToString());
        mine.Single(e => e!["action"]!.GetValue<string>() == "POST /admin/v1/platform-keys/rotate")!["status"]!.GetValue<int>().ShouldBe(403);
        mine.ShouldContain(e => e!["action"]!.GetValue<string>() == "operator_login");
        mine.ShouldContain(e => e!["action"]!.GetValue<string>() == "operator_invitation_accepted");

        // The user's security events, with the user as actor: registration's login, the PIN, the identity.
        var events = (await EntriesAsync(http, "actor=" + user.UserId)).Select(e => e!["action"]!.GetValue<string>()).ToList();
        events.ShouldContain("security_event:login");
        events.ShouldContain("security_event:pin_set");
        events.ShouldContain("security_event:identity_verified");
        // The bootstrap key's actions are the "bootstrap" actor's.
        (await EntriesAsync(http, "actor=bootstrap")).ShouldContain(e => e!["action"]!.GetValue<string>() == "POST /admin/v1/operators");

        // Paging: newest first, the cursor continues below; a time window filters.
        var firstPage = (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/audit?limit=2", host.OperatorKey).JsonAsync());
        var seqs = firstPage["items"]!.AsArray().Select(e => e!["seq"]!.GetValue<long>()).ToList();
        seqs.Count.ShouldBe(2);
        seqs[0].ShouldBeGreaterThan(seqs[1]);
        var next = await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/audit?limit=2&cursor=" + firstPage["next_cursor"]!.GetValue<string>(), host.OperatorKey).JsonAsync();
        next["items"]!.AsArray()[0]!["seq"]!.GetValue<long>().ShouldBe(seqs[1] - 1);
        (await EntriesAsync(http, "from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z")).Count.ShouldBe(0);
        await (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/audit?cursor=abc", host.OperatorKey)).ShouldBeProblemAsync(400, "invalid_cursor");
        await (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/audit?from=yesterday", host.OperatorKey)).ShouldBeProblemAsync(400, "invalid_time");

        var verified = await VerifyAsync(http);
        verified["ok"]!.GetValue<bool>().ShouldBeTrue(verified.ToJsonString());
        verified["first_bad_seq"].ShouldBeNull();
        verified["entries"]!.GetValue<long>().ShouldBe(verified["last_seq"]!.GetValue<long>());
        // Support may not read the audit log.
        var support = await OperatorSupport.CreateAsync(host, http, "support");
        await (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/audit/verify", support.AccessToken)).ShouldBeProblemAsync(403, "forbidden");
    }

    [Fact]
    public async Task A_row_changed_or_deleted_with_direct_sql_is_found_and_the_table_refuses_both()
    {
        var http = host.CreateClient();
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, verifyIdentity: false);
        foreach (var action in (string[])["freeze", "unfreeze"])
            (await OperatorSupport.SendAsync(http, HttpMethod.Post, $"/admin/v1/users/{user.UserId}/{action}", host.OperatorKey, new { reason = "test" }))
                .StatusCode.ShouldBe(HttpStatusCode.OK);
        var before = await VerifyAsync(http);
        before["ok"]!.GetValue<bool>().ShouldBeTrue();
        // Entry 3 is inside the chain: a deleted newest entry would leave a valid shorter chain (see AuditLog).
        before["entries"]!.GetValue<long>().ShouldBeGreaterThanOrEqualTo(4);

        // The second line: the application's database user cannot change or delete entries.
        (await OperatorSupport.TryDirectAsync(host, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")).ShouldNotBeNull();
        (await OperatorSupport.TryDirectAsync(host, "DELETE FROM audit_log WHERE seq = 2")).ShouldNotBeNull();
        (await VerifyAsync(http))["ok"]!.GetValue<bool>().ShouldBeTrue();

        // Someone with full access changes entry 2: found at 2. Put back, the chain verifies again.
        var original = (await EntriesAsync(http, "limit=500")).Single(e => e!["seq"]!.GetValue<long>() == 2)!;
        var actor = original["actor"]!.GetValue<string>();
        (await OperatorSupport.TamperAsync(host, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")).ShouldBe(1);
        var changed = await VerifyAsync(http);
        changed["ok"]!.GetValue<bool>().ShouldBeFalse();
        changed["first_bad_seq"]!.GetValue<long>().ShouldBe(2);
        await OperatorSupport.TamperAsync(host, $"UPDATE audit_log SET actor = '{actor}' WHERE seq = 2");
        (await VerifyAsync(http))["ok"]!.GetValue<bool>().ShouldBeTrue();

        // Deleting entry 3 leaves a gap: found at 3. Put back, the chain verifies again.
        await OperatorSupport.TamperAsync(host, "CREATE TABLE audit_keep AS SELECT * FROM audit_log WHERE seq = 3");
        (await OperatorSupport.TamperAsync(host, "DELETE FROM audit_log WHERE seq = 3")).ShouldBe(1);
        var deleted = await VerifyAsync(http);
        deleted["ok"]!.GetValue<bool>().ShouldBeFalse();
        deleted["first_bad_seq"]!.GetValue<long>().ShouldBe(3);
        await OperatorSupport.TamperAsync(host, "INSERT INTO audit_log SELECT * FROM audit_keep; DROP TABLE audit_keep");
        (await VerifyAsync(http))["ok"]!.GetValue<bool>().ShouldBeTrue();

        // The entry's content is what is hashed: a changed before/after or status is found too.
        (await OperatorSupport.TamperAsync(host, "UPDATE audit_log SET client_address = '10.0.0.1' WHERE seq = 1")).ShouldBe(1);
        (await VerifyAsync(http))["first_bad_seq"]!.GetValue<long>().ShouldBe(1);
        await OperatorSupport.TamperAsync(host, "UPDATE audit_log SET client_address = NULL WHERE seq = 1");
        (await VerifyAsync(http))["ok"]!.GetValue<bool>().ShouldBeTrue();
    }

    [Fact]
    public async Task Revealing_a_user_s_personal_data_is_audited_and_masked_otherwise()
    {
        var http = host.CreateClient();
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, name: "王小明");
        var support = await OperatorSupport.CreateAsync(host, http, "support");
        var finance = await OperatorSupport.CreateAsync(host, http, "finance");

        var masked = await OperatorSupport.SendAsync(http, HttpMethod.Get, $"/admin/v1/users/{user.UserId}", support.AccessToken).JsonAsync();
        masked["name_masked"]!.GetValue<string>().ShouldBe("**明");
        masked["phone_masked"]!.GetValue<string>().ShouldNotContain(user.Phone[3..]);
        masked.ContainsKey("phone").ShouldBeFalse();
        masked.ContainsKey("name").ShouldBeFalse();
        masked["tier"]!.GetValue<string>().ShouldBe("class_i");
        masked["frozen"]!.GetValue<bool>().ShouldBeFalse();
        (await EntriesAsync(http, "actor=" + support.Id)).ShouldNotContain(e => e!["action"]!.GetValue<string>().StartsWith("GET ", StringComparison.Ordinal));

        var revealed = await OperatorSupport.SendAsync(http, HttpMethod.Get, $"/admin/v1/users/{user.UserId}?reveal=true", support.AccessToken).JsonAsync();
        revealed["phone"]!.GetValue<string>().ShouldEndWith(user.Phone);
        revealed["name"]!.GetValue<string>().ShouldBe("王小明");
        revealed["identity_name"]!.GetValue<string>().ShouldBe("王小明");
        var entry = (await EntriesAsync(http, "actor=" + support.Id)).Single(e => e!["action"]!.GetValue<string>() == "GET /admin/v1/users/{id}")!;
        entry["target"]!.GetValue<string>().ShouldBe(user.UserId.ToString());
        entry["detail"]!["reveal"]!.GetValue<string>().ShouldBe("true");
        entry["status"]!.GetValue<int>().ShouldBe(200);

        await (await OperatorSupport.SendAsync(http, HttpMethod.Get, $"/admin/v1/users/{user.UserId}?reveal=true", finance.AccessToken)).ShouldBeProblemAsync(403, "forbidden");
        await (await OperatorSupport.SendAsync(http, HttpMethod.Get, $"/admin/v1/users/{user.UserId}?reveal=maybe", support.AccessToken)).ShouldBeProblemAsync(400, "bad_request");
        await (await OperatorSupport.SendAsync(http, HttpMethod.Get, $"/admin/v1/users/{Guid.NewGuid()}", support.AccessToken)).ShouldBeProblemAsync(404, "not_found");
        (await VerifyAsync(http))["ok"]!.GetValue<bool>().ShouldBeTrue();
    }
}

public sealed class SqliteAuditTrailTests(SecureSqliteHost host) : AuditTrailTests<SecureSqliteHost>(host);

public sealed class PostgresAuditTrailTests(SecurePostgresHost host) : AuditTrailTests<SecurePostgresHost>(host);

/// <summary>The operator API in OpenAPI: every /admin/v1 operation lists its roles (x-roles and the description) and the bearer scheme.</summary>
public sealed class OperatorOpenApiTests(SecureSqliteHost host) : IClassFixture<SecureSqliteHost>
{
    [Fact]
    public async Task Every_admin_operation_shows_its_roles()
    {
        var document = JsonNode.Parse(await host.CreateClient().GetStringAsync("/openapi/v1.json"))!;
        document["components"]!["securitySchemes"]!["operator"]!["scheme"]!.GetValue<string>().ShouldBe("bearer");
        var operations = document["paths"]!.AsObject()
            .Where(p => p.Key.StartsWith("/admin/v1/", StringComparison.Ordinal))
            .SelectMany(p => p.Value!.AsObject().Select(o => (Path: p.Key, Method: o.Key, Operation: o.Value!)))
            .ToList();
        operations.Count.ShouldBeGreaterThan(15);
        foreach (var (path, method, operation) in operations)
        {
            var roles = operation["x-roles"]?.AsArray().Select(r => r!.GetValue<string>()).ToList();
            roles.ShouldNotBeNull($"{method} {path} has no x-roles");
            if (path is "/admin/v1/auth/token" or "/admin/v1/operators/invitations/{token}/accept")
            {
                roles.ShouldBeEmpty();
                continue;
            }
            roles[0].ShouldBe("owner");
            operation["description"]!.GetValue<string>().ShouldBe($"Operator roles: {string.Join(", ", roles)}.");
            operation["security"]!.AsArray().ShouldContain(s => s!.AsObject().ContainsKey("operator"), $"{method} {path}");
        }
        var audit = operations.Single(o => o.Path == "/admin/v1/audit" && o.Method == "get").Operation;
        audit["x-roles"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(["owner", "risk"]);
    }
}
