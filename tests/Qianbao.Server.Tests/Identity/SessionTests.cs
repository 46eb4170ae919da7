using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Identity;

/// <summary>Items 2, 3 (logins), 7 and 8 of account security: devices and sessions, login lockout, masking, security events.</summary>
public abstract class SessionTests<THost>(THost host) : IClassFixture<THost> where THost : SecureHost
{
    private readonly HttpClient http = host.CreateClient();

    private Task<SecureUser> NewUserAsync(string name = "李磊") => SecureUser.CreateAsync(http, host.OperatorKey, name, setPin: false, verifyIdentity: false);

    private Task<HttpResponseMessage> LoginAsync(string phone, string password, string? deviceId, string? verificationId = null, string? code = null) =>
        http.PostAsJsonAsync("/v1/auth/token", new { phone, password, device_id = deviceId, verification_id = verificationId, code });

    private async Task<JsonObject> LoggedInAsync(string phone, string deviceId, string password = SecureUser.Password)
    {
        var response = await LoginAsync(phone, password, deviceId);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, object? body = null, string? rawJson = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (rawJson is not null) request.Content = new StringContent(rawJson, Encoding.UTF8, "application/json");
        return http.SendAsync(request);
    }

    private Task<HttpResponseMessage> MeAsync(string token) => SendAsync(HttpMethod.Get, "/v1/me", token);

    private Task<HttpResponseMessage> RefreshAsync(string? refreshToken) => http.PostAsJsonAsync("/v1/auth/refresh", new { refresh_token = refreshToken });

    private async Task<IReadOnlyList<string>> EventKindsAsync(string token)
    {
        var response = await SendAsync(HttpMethod.Get, "/v1/me/security-events?limit=100", token);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return [.. (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray().Select(i => i!["kind"]!.GetValue<string>())];
    }

    [Fact]
    public async Task A_new_device_needs_the_code_sent_by_SMS_and_is_then_trusted()
    {
        var user = await NewUserAsync();
        const string tablet = "tablet-1";
        var first = await LoginAsync(user.Phone, SecureUser.Password, tablet);
        await first.ShouldBeProblemAsync(401, "device_verification_required");
        var verificationId = JsonNode.Parse(await first.Content.ReadAsStringAsync())!["verification_id"]!.GetValue<string>();
        var code = await SandboxSms.LatestCodeAsync(http, host.OperatorKey, user.Phone);

        var wrong = code == "000000" ? "000001" : "000000";
        await (await LoginAsync(user.Phone, SecureUser.Password, tablet, verificationId, wrong)).ShouldBeProblemAsync(422, "invalid_verification_code");
        // The code is bound to the device's login, not a way around the password.
        await (await LoginAsync(user.Phone, "wrong horse", tablet, verificationId, code)).ShouldBeProblemAsync(401, "invalid_credentials");

        var ok = await LoginAsync(user.Phone, SecureUser.Password, tablet, verificationId, code);
        ok.StatusCode.ShouldBe(HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
        ok.Headers.CacheControl!.NoStore.ShouldBeTrue();
        var body = (await ok.Content.ReadFromJsonAsync<JsonObject>())!;
        body["token_type"]!.GetValue<string>().ShouldBe("Bearer");
        body["expires_in"]!.GetValue<long>().ShouldBeGreaterThan(0);
        body["refresh_token"]!.GetValue<string>().Length.ShouldBe(43); // 32 random bytes, base64url
        body["session_id"]!.GetValue<Guid>().ShouldNotBe(Guid.Empty);
        (await MeAsync(body["access_token"]!.GetValue<string>())).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await SandboxSms.TextsAsync(http, host.OperatorKey, user.Phone))[0].ShouldContain("新设备 " + tablet);

        // Known now: no code, no message.
        await LoggedInAsync(user.Phone, tablet);
        var kinds = await EventKindsAsync(user.AccessToken);
        kinds.Count(k => k == "new_device").ShouldBe(1);
        kinds.Count(k => k == "login").ShouldBe(3); // the registered device's, and the tablet's two
        kinds.ShouldContain("login_failed");
    }

    [Fact]
    public async Task A_refresh_token_rotates_and_one_used_twice_revokes_the_session()
    {
        var user = await NewUserAsync();
        var rotated = await RefreshAsync(user.RefreshToken);
        rotated.StatusCode.ShouldBe(HttpStatusCode.OK, await rotated.Content.ReadAsStringAsync());
        rotated.Headers.CacheControl!.NoStore.ShouldBeTrue();
        var pair = (await rotated.Content.ReadFromJsonAsync<JsonObject>())!;
        var (access2, refresh2) = (pair["access_token"]!.GetValue<string>(), pair["refresh_token"]!.GetValue<string>());
        refresh2.ShouldNotBe(user.RefreshToken);
        (await MeAsync(access2)).StatusCode.ShouldBe(HttpStatusCode.OK);

        // The replaced token again: someone holds a copy. The session dies for both.
        await (await RefreshAsync(user.RefreshToken)).ShouldBeProblemAsync(401, "refresh_token_reused");
        await (await MeAsync(access2)).ShouldBeProblemAsync(401, "unauthorized");
        await (await MeAsync(user.AccessToken)).ShouldBeProblemAsync(401, "unauthorized");
        await (await RefreshAsync(refresh2)).ShouldBeProblemAsync(401, "invalid_refresh_token");
        (await EventKindsAsync((await LoggedInAsync(user.Phone, user.DeviceId))["access_token"]!.GetValue<string>())).ShouldContain("session_revoked");
    }

    [Theory]
    [InlineData("""{"refresh_token":"not-a-token"}""", 401, "invalid_refresh_token")]
    [InlineData("""{"refresh_token":""}""", 401, "invalid_refresh_token")]
    [InlineData("""{}""", 401, "invalid_refresh_token")]
    [InlineData("""{"refresh_token":12}""", 400, "malformed_json")]
    [InlineData("""[1]""", 400, "malformed_json")]
    [InlineData("""{"refresh_token":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}""", 401, "invalid_refresh_token")]
    public async Task Malformed_refreshes_are_4xx(string json, int status, string code) =>
        await (await SendAsync(HttpMethod.Post, "/v1/auth/refresh", null, rawJson: json)).ShouldBeProblemAsync(status, code);

    [Fact]
    public async Task Logout_and_deleting_a_session_refuse_its_tokens_at_once()
    {
        var user = await NewUserAsync();
        var other = await LoggedInAsync(user.Phone, user.DeviceId);
        var otherAccess = other["access_token"]!.GetValue<string>();
        var otherId = other["session_id"]!.GetValue<Guid>();

        var list = await SendAsync(HttpMethod.Get, "/v1/sessions", user.AccessToken);
        var items = (await list.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        items.Count.ShouldBe(2);
        items.Count(i => i!["current"]!.GetValue<bool>()).ShouldBe(1);
        items.Single(i => i!["id"]!.GetValue<Guid>() == otherId)!["current"]!.GetValue<bool>().ShouldBeFalse();
        items.ShouldAllBe(i => i!["device_id"]!.GetValue<string>() == user.DeviceId && i["created_at"] != null && i["last_seen_at"] != null);

        // Someone else's session, or none, is not found.
        var stranger = await NewUserAsync();
        await (await SendAsync(HttpMethod.Delete, $"/v1/sessions/{otherId}", stranger.AccessToken)).ShouldBeProblemAsync(404, "not_found");
        await (await SendAsync(HttpMethod.Delete, $"/v1/sessions/{Guid.NewGuid()}", user.AccessToken)).ShouldBeProblemAsync(404, "not_found");
        await (await SendAsync(HttpMethod.Delete, "/v1/sessions/not-a-guid", user.AccessToken)).ShouldBeProblemAsync(404, "not_found");
        (await MeAsync(otherAccess)).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await SendAsync(HttpMethod.Delete, $"/v1/sessions/{otherId}", user.AccessToken)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await MeAsync(otherAccess)).ShouldBeProblemAsync(401, "unauthorized");
        await (await RefreshAsync(other["refresh_token"]!.GetValue<string>())).ShouldBeProblemAsync(401, "invalid_refresh_token");
        (await SendAsync(HttpMethod.Delete, $"/v1/sessions/{otherId}", user.AccessToken)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await MeAsync(user.AccessToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var after = (await (await SendAsync(HttpMethod.Get, "/v1/sessions", user.AccessToken)).Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        after.Select(i => i!["id"]!.GetValue<Guid>()).ShouldNotContain(otherId);

        (await SendAsync(HttpMethod.Post, "/v1/auth/logout", user.AccessToken)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await MeAsync(user.AccessToken)).ShouldBeProblemAsync(401, "unauthorized");
        await (await RefreshAsync(user.RefreshToken)).ShouldBeProblemAsync(401, "invalid_refresh_token");
        await (await SendAsync(HttpMethod.Post, "/v1/auth/logout", null)).ShouldBeProblemAsync(401, "unauthorized");
    }

    [Fact]
    public async Task Changing_the_password_signs_out_every_other_session()
    {
        var user = await NewUserAsync();
        var other = (await LoggedInAsync(user.Phone, user.DeviceId))["access_token"]!.GetValue<string>();
        await (await SendAsync(HttpMethod.Post, "/v1/me/password", user.AccessToken, new { current_password = "wrong horse", new_password = "battery staple" }))
            .ShouldBeProblemAsync(403, "invalid_current_password");
        await (await SendAsync(HttpMethod.Post, "/v1/me/password", user.AccessToken, new { current_password = SecureUser.Password, new_password = "short" }))
            .ShouldBeProblemAsync(400, "invalid_password");
        (await MeAsync(other)).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await SendAsync(HttpMethod.Post, "/v1/me/password", user.AccessToken, new { current_password = SecureUser.Password, new_password = "battery staple" }))
            .StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await MeAsync(user.AccessToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await MeAsync(other)).ShouldBeProblemAsync(401, "unauthorized");
        await (await LoginAsync(user.Phone, SecureUser.Password, user.DeviceId)).ShouldBeProblemAsync(401, "invalid_credentials");
        await LoggedInAsync(user.Phone, user.DeviceId, "battery staple");
        (await SandboxSms.TextsAsync(http, host.OperatorKey, user.Phone))[0].ShouldContain("登录密码已修改");
        var kinds = await EventKindsAsync(user.AccessToken);
        kinds.ShouldContain("password_changed");
        kinds.ShouldContain("login_failed"); // the wrong current password, and the old one at login
    }

    [Fact]
    public async Task Resetting_the_password_with_a_code_signs_out_every_session()
    {
        var user = await NewUserAsync();
        var other = (await LoggedInAsync(user.Phone, user.DeviceId))["access_token"]!.GetValue<string>();
        var (verificationId, code) = await SandboxSms.VerifyAsync(http, host.OperatorKey, user.Phone, "reset_password");
        var wrong = code == "000000" ? "000001" : "000000";
        await (await http.PostAsJsonAsync("/v1/auth/password-reset", new { phone = user.Phone, verification_id = verificationId, code = wrong, new_password = "battery staple" }))
            .ShouldBeProblemAsync(422, "invalid_verification_code");
        (await MeAsync(other)).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await http.PostAsJsonAsync("/v1/auth/password-reset", new { phone = user.Phone, verification_id = verificationId, code, new_password = "battery staple" }))
            .StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await MeAsync(user.AccessToken)).ShouldBeProblemAsync(401, "unauthorized");
        await (await MeAsync(other)).ShouldBeProblemAsync(401, "unauthorized");
        // Once only.
        await (await http.PostAsJsonAsync("/v1/auth/password-reset", new { phone = user.Phone, verification_id = verificationId, code, new_password = "third horse" }))
            .ShouldBeProblemAsync(422, "invalid_verification_code");
        var fresh = (await LoggedInAsync(user.Phone, user.DeviceId, "battery staple"))["access_token"]!.GetValue<string>();
        (await EventKindsAsync(fresh)).ShouldContain("password_reset");
    }

    [Fact]
    public async Task Five_wrong_passwords_lock_the_phone_for_fifteen_minutes_even_against_the_right_one()
    {
        var user = await NewUserAsync();
        // A success in between resets the count.
        for (var i = 0; i < 4; i++) await (await LoginAsync(user.Phone, "wrong horse", user.DeviceId)).ShouldBeProblemAsync(401, "invalid_credentials");
        await LoggedInAsync(user.Phone, user.DeviceId);
        for (var i = 0; i < 4; i++) await (await LoginAsync(user.Phone, "wrong horse", user.DeviceId)).ShouldBeProblemAsync(401, "invalid_credentials");

        var fifth = await LoginAsync(user.Phone, "wrong horse", user.DeviceId);
        await fifth.ShouldBeProblemAsync(429, "too_many_attempts");
        fifth.Headers.RetryAfter!.Delta!.Value.ShouldBe(TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(2));
        var right = await LoginAsync(user.Phone, SecureUser.Password, user.DeviceId);
        await right.ShouldBeProblemAsync(429, "too_many_attempts");
        right.Headers.RetryAfter!.Delta!.Value.ShouldBeInRange(TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15));

        host.Clock.Advance(TimeSpan.FromMinutes(14));
        await (await LoginAsync(user.Phone, SecureUser.Password, user.DeviceId)).ShouldBeProblemAsync(429, "too_many_attempts");
        host.Clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        var token = (await LoggedInAsync(user.Phone, user.DeviceId))["access_token"]!.GetValue<string>();
        var kinds = await EventKindsAsync(token);
        kinds.Count(k => k == "login_failed").ShouldBe(9);
        kinds.Count(k => k == "login_locked").ShouldBe(1);
    }

    [Fact]
    public async Task An_unknown_phone_locks_alike()
    {
        var phone = SecureUser.NewPhone();
        for (var i = 0; i < 4; i++) await (await LoginAsync(phone, "wrong horse", "d")).ShouldBeProblemAsync(401, "invalid_credentials");
        await (await LoginAsync(phone, "wrong horse", "d")).ShouldBeProblemAsync(429, "too_many_attempts");
        await (await LoginAsync(phone, "wrong horse", "d")).ShouldBeProblemAsync(429, "too_many_attempts");
    }

    [Fact]
    public async Task Me_shows_the_account_masked()
    {
        var user = await NewUserAsync("王小明");
        var me = (await (await MeAsync(user.AccessToken)).Content.ReadFromJsonAsync<JsonObject>())!;
        me["id"]!.GetValue<Guid>().ShouldBe(user.UserId);
        me["phone_masked"]!.GetValue<string>().ShouldBe(user.Phone[..3] + "****" + user.Phone[^4..]);
        me["name_masked"]!.GetValue<string>().ShouldBe("**明");
        me["tier"]!.GetValue<string>().ShouldBe("unverified");
        me["totp_enabled"]!.GetValue<bool>().ShouldBeFalse();
        me["pin_set"]!.GetValue<bool>().ShouldBeFalse();
        me["locale"]!.GetValue<string>().ShouldBe("zh-CN");
        await (await MeAsync("qb2.garbage")).ShouldBeProblemAsync(401, "unauthorized");
    }

    [Fact]
    public async Task A_recipient_is_looked_up_masked_twenty_times_an_hour()
    {
        var payer = await NewUserAsync();
        var payee = await NewUserAsync("韩梅梅");
        var found = await SendAsync(HttpMethod.Get, "/v1/recipients?phone=" + payee.Phone, payer.AccessToken);
        found.StatusCode.ShouldBe(HttpStatusCode.OK, await found.Content.ReadAsStringAsync());
        var body = (await found.Content.ReadFromJsonAsync<JsonObject>())!;
        body["user_id"]!.GetValue<Guid>().ShouldBe(payee.UserId);
        body["name_masked"]!.GetValue<string>().ShouldBe("**梅");
        body.Count.ShouldBe(2);

        await (await SendAsync(HttpMethod.Get, "/v1/recipients?phone=" + SecureUser.NewPhone(), payer.AccessToken)).ShouldBeProblemAsync(404, "not_found");
        await (await SendAsync(HttpMethod.Get, "/v1/recipients?phone=12", payer.AccessToken)).ShouldBeProblemAsync(400, "invalid_phone");
        await (await SendAsync(HttpMethod.Get, "/v1/recipients", payer.AccessToken)).ShouldBeProblemAsync(400, "invalid_phone");
        await (await SendAsync(HttpMethod.Get, "/v1/recipients?phone=" + payee.Phone, null)).ShouldBeProblemAsync(401, "unauthorized");
        for (var i = 2; i < 20; i++)
            (await SendAsync(HttpMethod.Get, "/v1/recipients?phone=" + payee.Phone, payer.AccessToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var over = await SendAsync(HttpMethod.Get, "/v1/recipients?phone=" + payee.Phone, payer.AccessToken);
        await over.ShouldBeProblemAsync(429, "too_many_requests");
        over.Headers.RetryAfter!.Delta!.Value.ShouldBeInRange(TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        // Another user has their own allowance.
        (await SendAsync(HttpMethod.Get, "/v1/recipients?phone=" + payer.Phone, payee.AccessToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Security_events_are_listed_newest_first_in_pages()
    {
        var user = await NewUserAsync();
        for (var i = 0; i < 2; i++) await (await LoginAsync(user.Phone, "wrong horse", user.DeviceId)).ShouldBeProblemAsync(401, "invalid_credentials");
        await LoggedInAsync(user.Phone, user.DeviceId);
        // Newest first: the second login, two failures, the first login.
        var all = new List<JsonObject>();
        string? cursor = null;
        do
        {
            var response = await SendAsync(HttpMethod.Get, "/v1/me/security-events?limit=2" + (cursor is null ? "" : "&cursor=" + cursor), user.AccessToken);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var page = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            var items = page["items"]!.AsArray();
            items.Count.ShouldBeLessThanOrEqualTo(2);
            all.AddRange(items.Select(i => i!.AsObject()));
            cursor = page["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        all.Select(e => e["kind"]!.GetValue<string>()).ShouldBe(["login", "login_failed", "login_failed", "login"]);
        all.ShouldAllBe(e => e["device_id"]!.GetValue<string>() == user.DeviceId && e["created_at"] != null && e["id"] != null);
        all.Select(e => e["created_at"]!.GetValue<DateTimeOffset>()).ShouldBeInOrder(SortDirection.Descending);

        // Only the account's own.
        var stranger = await NewUserAsync();
        (await EventKindsAsync(stranger.AccessToken)).ShouldBe(["login"]);
    }

    [Theory]
    [InlineData("limit=0", "invalid_limit")]
    [InlineData("limit=101", "invalid_limit")]
    [InlineData("limit=x", "invalid_limit")]
    [InlineData("limit=-1", "invalid_limit")]
    [InlineData("cursor=%%%", "invalid_cursor")]
    [InlineData("cursor=bm90LWEtY3Vyc29y", "invalid_cursor")]
    [InlineData("cursor=", "invalid_cursor")]
    public async Task Bad_security_event_queries_are_400(string query, string code)
    {
        var user = await NewUserAsync();
        await (await SendAsync(HttpMethod.Get, "/v1/me/security-events?" + query, user.AccessToken)).ShouldBeProblemAsync(400, code);
    }

    public static TheoryData<string, string, int, string> MalformedRequests() => new()
    {
        { "/v1/auth/token", """{"phone":"13800138000","password":"correct horse"}""", 400, "invalid_device_id" },
        { "/v1/auth/token", """{"phone":"13800138000","password":"correct horse","device_id":""}""", 400, "invalid_device_id" },
        { "/v1/auth/token", "{\"phone\":\"13800138000\",\"password\":\"correct horse\",\"device_id\":\"" + new string('d', 129) + "\"}", 400, "invalid_device_id" },
        { "/v1/auth/token", """{"phone":"13800138000","password":"correct horse","device_id":"tab\tbed"}""", 400, "invalid_device_id" },
        { "/v1/auth/token", """{"phone":"13800138000","password":"correct horse","device_id":7}""", 400, "malformed_json" },
        { "/v1/auth/token", """{"phone":"garbage","password":"correct horse","device_id":"d"}""", 401, "invalid_credentials" },
        { "/v1/auth/token", """{"device_id":"d"}""", 401, "invalid_credentials" },
        { "/v1/auth/token", """{"phone":"13800138000","password":"x","device_id":"d","verification_id":"nope","code":"1"}""", 401, "invalid_credentials" },
        { "/v1/auth/token", "[]", 400, "malformed_json" },
        { "/v1/auth/password-reset", """{"phone":"13800138000","verification_id":"nope","code":"123456","new_password":"battery staple"}""", 400, "invalid_verification" },
        { "/v1/auth/password-reset", """{"phone":"12","verification_id":"nope","code":"123456","new_password":"battery staple"}""", 400, "invalid_phone" },
        { "/v1/auth/password-reset", """{"phone":"13800138000","new_password":"short"}""", 400, "invalid_password" },
        { "/v1/auth/password-reset", "{\"phone\":\"13800138000\",\"verification_id\":\"" + Guid.Empty + "\",\"code\":\"abcdef\",\"new_password\":\"battery staple\"}", 422, "invalid_verification_code" },
        { "/v1/auth/password-reset", """{"phone":"13800138000","code":123456}""", 400, "malformed_json" },
        { "/v1/users", """{"phone":"13800138000","password":"correct horse","name":"N","device_id":""}""", 400, "invalid_device_id" },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task Malformed_requests_to_the_new_routes_are_4xx(string path, string json, int status, string code) =>
        await (await SendAsync(HttpMethod.Post, path, null, rawJson: json)).ShouldBeProblemAsync(status, code);

    [Theory]
    [InlineData("""{"current_password":"correct horse"}""", 400, "invalid_password")]
    [InlineData("""{"new_password":"battery staple"}""", 403, "invalid_current_password")]
    [InlineData("""{"current_password":7,"new_password":"battery staple"}""", 400, "malformed_json")]
    [InlineData("""not json""", 400, "malformed_json")]
    public async Task Malformed_password_changes_are_4xx(string json, int status, string code)
    {
        var user = await NewUserAsync();
        await (await SendAsync(HttpMethod.Post, "/v1/me/password", user.AccessToken, rawJson: json)).ShouldBeProblemAsync(status, code);
        await (await SendAsync(HttpMethod.Post, "/v1/me/password", null, rawJson: json)).ShouldBeProblemAsync(401, "unauthorized");
    }
}

public sealed class SqliteSessionTests(SecureSqliteHost host) : SessionTests<SecureSqliteHost>(host);

public sealed class PostgresSessionTests(SecurePostgresHost host) : SessionTests<SecurePostgresHost>(host);
