using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Identity;

/// <summary>A secure host for the PIN and step-up suites: tokens that outlive the lock (3 h), settings a suite adds.</summary>
public abstract class SpendSecurityHost(DatabaseEngine engine) : SecureHost(engine)
{
    protected override IEnumerable<KeyValuePair<string, string?>> SecureSettings() =>
        [new("Qianbao:Auth:TokenLifetimeMinutes", "1440"), .. MoreSettings()];

    protected virtual IEnumerable<KeyValuePair<string, string?>> MoreSettings() => [];

    public async Task<int> ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await Services.GetRequiredService<Db>().OpenAsync();
        return await connection.ExecuteAsync(sql, parameters);
    }

    public async Task<T?> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Services.GetRequiredService<Db>().OpenAsync();
        return await connection.ExecuteScalarAsync<T>(sql, parameters);
    }
}

/// <summary>PIN tests leave step-up out: no new-device window (amounts stay below the large-amount threshold).</summary>
public abstract class PinHost(DatabaseEngine engine) : SpendSecurityHost(engine)
{
    protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings() => [new("Qianbao:Security:NewDeviceStepUpHours", "0")];
}

public sealed class PinSqliteHost() : PinHost(DatabaseEngine.Sqlite);

public sealed class PinPostgresHost() : PinHost(DatabaseEngine.Postgres);

/// <summary>Item 4 of account security: the payment PIN, its lockout, and that a refused PIN moves nothing.</summary>
public abstract class PaymentPinTests<THost>(THost host) : IClassFixture<THost> where THost : SpendSecurityHost
{
    private readonly HttpClient http = host.CreateClient();

    private Task<SecureUser> UserAsync(bool setPin = true) => SecureUser.CreateAsync(http, host.OperatorKey, setPin: setPin);

    private static Task<HttpResponseMessage> TransferAsync(SecureUser from, SecureUser to, long amount, string? pin) =>
        from.PostAsync("/v1/transfers", new { to_user_id = to.UserId, amount, currency = "CNY" }, pin: pin);

    private async Task<HttpResponseMessage> PutPinAsync(SecureUser user, string? pin, bool withCode = true, string? code = null)
    {
        string? verificationId = null;
        if (withCode)
        {
            var issued = await SandboxSms.VerifyAsync(http, host.OperatorKey, user.Phone, "set_pin", user.AccessToken);
            verificationId = issued.VerificationId;
            code ??= issued.Code;
        }
        return await user.SendAsync(HttpMethod.Put, "/v1/me/payment-pin", new { pin, verification_id = verificationId, code }, pin: null);
    }

    private async Task<(long Failures, long? LockedUntilUs)> PinStateAsync(SecureUser user)
    {
        var failures = await host.ScalarAsync<long>("SELECT pin_failures FROM users WHERE id = @id", new { id = user.UserId });
        var locked = await host.ScalarAsync<long?>("SELECT pin_locked_until_us FROM users WHERE id = @id", new { id = user.UserId });
        return (failures, locked);
    }

    private async Task<long> EventsAsync(SecureUser user, string kind) =>
        await host.ScalarAsync<long>("SELECT count(*) FROM security_events WHERE user_id = @id AND kind = @kind", new { id = user.UserId, kind });

    private static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, string code)
    {
        await response.ShouldBeProblemAsync(403, code);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    [Fact]
    public async Task A_pin_is_set_with_a_code_and_malformed_or_weak_pins_are_refused()
    {
        var user = await UserAsync(setPin: false);
        // The identity's birth date, as real-name verification stores it.
        await host.ExecuteAsync("UPDATE users SET birth_date = '19900515' WHERE id = @id", new { id = user.UserId });

        foreach (var malformed in new[] { "12345", "1234567", "12a456", " 13579", "１３５７９０", "" })
            await (await user.SendAsync(HttpMethod.Put, "/v1/me/payment-pin", new { pin = malformed }, pin: null)).ShouldBeProblemAsync(400, "invalid_pin_format");
        await (await user.SendAsync(HttpMethod.Put, "/v1/me/payment-pin", new { pin = (string?)null }, pin: null)).ShouldBeProblemAsync(400, "invalid_pin_format");
        foreach (var weak in new[] { "000000", "777777", "012345", "123456", "456789", "789012", "901234", "987654", "543210", "210987", "098765", "900515" })
            await (await user.SendAsync(HttpMethod.Put, "/v1/me/payment-pin", new { pin = weak }, pin: null)).ShouldBeProblemAsync(400, "weak_pin");

        // A good PIN needs the code; without one, or with a wrong one, nothing is set.
        await (await user.SendAsync(HttpMethod.Put, "/v1/me/payment-pin", new { pin = "135790" }, pin: null)).ShouldBeProblemAsync(400, "invalid_verification");
        var (verificationId, code) = await SandboxSms.VerifyAsync(http, host.OperatorKey, user.Phone, "set_pin", user.AccessToken);
        var wrong = code == "000000" ? "000001" : "000000";
        await (await user.SendAsync(HttpMethod.Put, "/v1/me/payment-pin", new { pin = "135790", verification_id = verificationId, code = wrong }, pin: null))
            .ShouldBeProblemAsync(422, "invalid_verification_code");
        (await host.ScalarAsync<string?>("SELECT pin_hash FROM users WHERE id = @id", new { id = user.UserId })).ShouldBeNull();

        var set = await user.SendAsync(HttpMethod.Put, "/v1/me/payment-pin", new { pin = "135790", verification_id = verificationId, code }, pin: null);
        set.StatusCode.ShouldBe(HttpStatusCode.NoContent, await set.Content.ReadAsStringAsync());
        var hash = (await host.ScalarAsync<string>("SELECT pin_hash FROM users WHERE id = @id", new { id = user.UserId }))!;
        hash.ShouldNotContain("135790");
        hash.Length.ShouldBe(64);
        (await EventsAsync(user, "pin_set")).ShouldBe(1);
        (await SandboxSms.TextsAsync(http, host.OperatorKey, user.Phone))[0].ShouldContain("支付密码已设置");
        // The code was used.
        await (await user.SendAsync(HttpMethod.Put, "/v1/me/payment-pin", new { pin = "246801", verification_id = verificationId, code }, pin: null))
            .ShouldBeProblemAsync(422, "invalid_verification_code");
    }

    [Fact]
    public async Task Setting_a_pin_needs_a_token_and_malformed_bodies_are_4xx()
    {
        var anonymous = await http.PutAsJsonAsync("/v1/me/payment-pin", new { pin = "135790" });
        await anonymous.ShouldBeProblemAsync(401, "unauthorized");
        var user = await UserAsync(setPin: false);
        foreach (var body in new[] { "", "{", "[]", "{\"pin\":135790}", "{\"pin\":\"135790\",\"verification_id\":42}", "null" })
        {
            var request = new HttpRequestMessage(HttpMethod.Put, "/v1/me/payment-pin") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new("Bearer", user.AccessToken);
            var response = await http.SendAsync(request);
            ((int)response.StatusCode).ShouldBeInRange(400, 499, body + " → " + await response.Content.ReadAsStringAsync());
        }
        var badId = await user.SendAsync(HttpMethod.Put, "/v1/me/payment-pin", new { pin = "135790", verification_id = "not-a-guid", code = "123456" }, pin: null);
        await badId.ShouldBeProblemAsync(400, "invalid_verification");
    }

    [Fact]
    public async Task Every_refusal_has_its_code_and_moves_nothing()
    {
        var noPin = await UserAsync(setPin: false);
        var sender = await UserAsync();
        var recipient = await UserAsync();
        await sender.TopUpAsync(10_000);
        await noPin.TopUpAsync(10_000); // top-ups need no PIN

        await ProblemAsync(await TransferAsync(noPin, recipient, 100, pin: SecureUser.Pin), "pin_not_set");
        await ProblemAsync(await TransferAsync(noPin, recipient, 100, pin: null), "pin_not_set");
        await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: null), "pin_required");
        var wrong = await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: "246801"), "invalid_pin");
        wrong["attempts_left"]!.GetValue<int>().ShouldBe(4);
        // Anything but 6 digits is a wrong PIN too.
        (await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: "12ab"), "invalid_pin"))["attempts_left"]!.GetValue<int>().ShouldBe(3);

        // Every kind but a top-up asks for the PIN.
        await ProblemAsync(await sender.PostAsync("/v1/payment-codes", new { }, pin: null), "pin_required");
        await ProblemAsync(await sender.PostAsync("/v1/withdrawals", new { amount = 100, currency = "CNY" }, pin: null), "pin_required");

        (await sender.AvailableAsync()).ShouldBe(10_000);
        (await noPin.AvailableAsync()).ShouldBe(10_000);
        (await recipient.AvailableAsync()).ShouldBe(0);
        (await recipient.GetJsonAsync("/v1/transactions"))["items"]!.AsArray().Count.ShouldBe(0);

        // The right PIN moves money and clears the wrong-try count.
        var ok = await TransferAsync(sender, recipient, 100, pin: SecureUser.Pin);
        ok.StatusCode.ShouldBe(HttpStatusCode.Created, await ok.Content.ReadAsStringAsync());
        (await recipient.AvailableAsync()).ShouldBe(100);
        (await PinStateAsync(sender)).ShouldBe((0L, null));
        (await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: "246801"), "invalid_pin"))["attempts_left"]!.GetValue<int>().ShouldBe(4);
    }

    [Fact]
    public async Task Five_wrong_pins_lock_for_three_hours_and_the_lock_runs_out()
    {
        var sender = await UserAsync();
        var recipient = await UserAsync();
        await sender.TopUpAsync(10_000);
        for (var left = 4; left >= 1; left--)
            (await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: "246801"), "invalid_pin"))["attempts_left"]!.GetValue<int>().ShouldBe(left);
        var before = host.Clock.GetUtcNow();
        var locked = await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: "246801"), "pin_locked");
        var until = DateTimeOffset.Parse(locked["locked_until"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        until.ShouldBeInRange(before.AddHours(3).AddSeconds(-5), before.AddHours(3).AddSeconds(30));
        (await EventsAsync(sender, "pin_locked")).ShouldBe(1);
        (await SandboxSms.TextsAsync(http, host.OperatorKey, sender.Phone))[0].ShouldContain("支付密码错误次数过多");

        // Locked: the right PIN is refused too, and further wrong ones are not counted.
        (await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: SecureUser.Pin), "pin_locked"))["locked_until"]!.GetValue<string>()
            .ShouldBe(locked["locked_until"]!.GetValue<string>());
        await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: "246801"), "pin_locked");
        await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: null), "pin_locked");
        (await PinStateAsync(sender)).Failures.ShouldBe(5);
        (await EventsAsync(sender, "pin_locked")).ShouldBe(1);
        (await sender.AvailableAsync()).ShouldBe(10_000);
        (await recipient.AvailableAsync()).ShouldBe(0);

        host.Clock.Advance(TimeSpan.FromHours(3) - TimeSpan.FromMinutes(1));
        await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: SecureUser.Pin), "pin_locked");
        host.Clock.Advance(TimeSpan.FromMinutes(2));
        // After the lock a wrong PIN starts a new series of five.
        (await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: "246801"), "invalid_pin"))["attempts_left"]!.GetValue<int>().ShouldBe(4);
        var ok = await TransferAsync(sender, recipient, 100, pin: SecureUser.Pin);
        ok.StatusCode.ShouldBe(HttpStatusCode.Created, await ok.Content.ReadAsStringAsync());
        (await PinStateAsync(sender)).ShouldBe((0L, null));
    }

    [Fact]
    public async Task A_new_pin_set_with_a_code_lifts_the_lock()
    {
        var sender = await UserAsync();
        var recipient = await UserAsync();
        await sender.TopUpAsync(10_000);
        for (var i = 0; i < 4; i++) await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: "246801"), "invalid_pin");
        await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: "246801"), "pin_locked");

        host.Clock.Advance(TimeSpan.FromSeconds(61)); // one set_pin code per phone per minute
        var set = await PutPinAsync(sender, "975319");
        set.StatusCode.ShouldBe(HttpStatusCode.NoContent, await set.Content.ReadAsStringAsync());
        await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: SecureUser.Pin), "invalid_pin"); // the old PIN is gone
        var ok = await TransferAsync(sender, recipient, 100, pin: "975319");
        ok.StatusCode.ShouldBe(HttpStatusCode.Created, await ok.Content.ReadAsStringAsync());
        (await EventsAsync(sender, "pin_set")).ShouldBe(2);
    }

    [Fact]
    public async Task A_right_pin_with_no_wrong_one_counted_writes_nothing_and_a_wrong_one_still_counts()
    {
        var sender = await UserAsync();
        var recipient = await UserAsync();
        await sender.TopUpAsync(10_000);
        // PostgreSQL shows a row's last writer: a right PIN is decided by a read, so the users row keeps its version.
        const string version = "SELECT CAST(CAST(xmin AS text) AS bigint) FROM users WHERE id = @id";
        var before = host.Engine == DatabaseEngine.Postgres ? await host.ScalarAsync<long>(version, new { id = sender.UserId }) : 0;
        (await TransferAsync(sender, recipient, 100, pin: SecureUser.Pin)).StatusCode.ShouldBe(HttpStatusCode.Created);
        if (host.Engine == DatabaseEngine.Postgres) (await host.ScalarAsync<long>(version, new { id = sender.UserId })).ShouldBe(before);

        await ProblemAsync(await TransferAsync(sender, recipient, 100, pin: "192837"), "invalid_pin");
        (await PinStateAsync(sender)).ShouldBe((1L, null));
        // With a wrong PIN counted, the right one goes through the statement, which resets the count.
        (await TransferAsync(sender, recipient, 100, pin: SecureUser.Pin)).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await PinStateAsync(sender)).ShouldBe((0L, null));
        (await recipient.AvailableAsync()).ShouldBe(200);
    }

    [Fact]
    public async Task Concurrent_wrong_pins_never_count_past_five()
    {
        var sender = await UserAsync();
        var recipient = await UserAsync();
        await sender.TopUpAsync(10_000);
        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => TransferAsync(sender, recipient, 100, pin: (200_000 + i * 7).ToString("D6"))));
        var codes = await Task.WhenAll(answers.Select(async a => (await a.Content.ReadFromJsonAsync<JsonObject>())!["code"]!.GetValue<string>()));
        codes.Count(c => c == "invalid_pin").ShouldBe(4, string.Join(",", codes));
        codes.Count(c => c == "pin_locked").ShouldBe(20, string.Join(",", codes));
        (await PinStateAsync(sender)).Failures.ShouldBe(5);
        (await EventsAsync(sender, "pin_locked")).ShouldBe(1);
        (await sender.AvailableAsync()).ShouldBe(10_000);
        (await recipient.AvailableAsync()).ShouldBe(0);
    }
}

public sealed class SqlitePaymentPinTests(PinSqliteHost host) : PaymentPinTests<PinSqliteHost>(host);

public sealed class PostgresPaymentPinTests(PinPostgresHost host) : PaymentPinTests<PinPostgresHost>(host);
