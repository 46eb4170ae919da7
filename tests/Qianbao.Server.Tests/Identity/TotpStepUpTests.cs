using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using OtpNet;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Identity;

/// <summary>RFC 6238 Appendix B (compliance-facts.md's table) against the TOTP implementation the server uses (Otp.NET).</summary>
public sealed class TotpVectorTests
{
    private static readonly byte[] Sha1Seed = Encoding.ASCII.GetBytes("12345678901234567890");
    private static readonly byte[] Sha256Seed = Encoding.ASCII.GetBytes("12345678901234567890123456789012");
    private static readonly byte[] Sha512Seed = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("1234567890", 7))[..64]);

    [Theory]
    [InlineData(59L, "94287082", "46119246", "90693936")]
    [InlineData(1111111109L, "07081804", "68084774", "25091201")]
    [InlineData(1111111111L, "14050471", "67062674", "99943326")]
    [InlineData(1234567890L, "89005924", "91819424", "93441116")]
    [InlineData(2000000000L, "69279037", "90698825", "38618901")]
    [InlineData(20000000000L, "65353130", "77737706", "47863826")]
    public void Appendix_b_vectors(long unixSeconds, string sha1, string sha256, string sha512)
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime;
        new Totp(Sha1Seed, 30, OtpHashMode.Sha1, 8).ComputeTotp(at).ShouldBe(sha1);
        new Totp(Sha256Seed, 30, OtpHashMode.Sha256, 8).ComputeTotp(at).ShouldBe(sha256);
        new Totp(Sha512Seed, 30, OtpHashMode.Sha512, 8).ComputeTotp(at).ShouldBe(sha512);
        // Authenticator apps show the last 6 digits of the same computation.
        new Totp(Sha1Seed, 30, OtpHashMode.Sha1, 6).ComputeTotp(at).ShouldBe(sha1[2..]);
    }
}

/// <summary>Step-up for large amounts only (no new-device window), so each test decides when a second factor is needed.</summary>
public abstract class StepUpHost(DatabaseEngine engine) : SpendSecurityHost(engine)
{
    public const long StepUpAbove = 50_000;

    protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings() =>
        [new("Qianbao:Security:NewDeviceStepUpHours", "0"), new("Qianbao:Security:StepUpAboveMinor", StepUpAbove.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}

public sealed class StepUpSqliteHost() : StepUpHost(DatabaseEngine.Sqlite);

public sealed class StepUpPostgresHost() : StepUpHost(DatabaseEngine.Postgres);

/// <summary>Item 5 of account security: TOTP enrolment, and the second factor large transfers and withdrawals need.</summary>
public abstract class TotpStepUpTests<THost>(THost host) : IClassFixture<THost> where THost : StepUpHost
{
    private const long Large = StepUpHost.StepUpAbove + 1;
    private readonly HttpClient http = host.CreateClient();

    /// <summary>A class III person (¥10,000 a day), so several large transfers stay within the tier limits.</summary>
    private async Task<SecureUser> UserAsync()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey);
        await user.SetTierAsync("class_iii");
        return user;
    }

    private string CodeAt(string secret, TimeSpan offset) =>
        new Totp(Base32Encoding.ToBytes(secret), 30, OtpHashMode.Sha1, 6).ComputeTotp((host.Clock.GetUtcNow() + offset).UtcDateTime);

    private string Code(string secret) => CodeAt(secret, TimeSpan.Zero);

    private static Task<HttpResponseMessage> TransferAsync(SecureUser from, SecureUser to, long amount, string? stepUp) =>
        from.PostAsync("/v1/transfers", new { to_user_id = to.UserId, amount, currency = "CNY" }, stepUp: stepUp);

    private async Task<string> EnrolAsync(SecureUser user)
    {
        var enrolled = await user.PostAsync("/v1/me/totp", new { }, pin: null);
        enrolled.StatusCode.ShouldBe(HttpStatusCode.OK, await enrolled.Content.ReadAsStringAsync());
        return (await enrolled.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
    }

    /// <summary>Enrols and confirms TOTP, then moves the clock a step on, so the next code is a fresh one.</summary>
    private async Task<string> EnableTotpAsync(SecureUser user)
    {
        var secret = await EnrolAsync(user);
        var confirmed = await user.PostAsync("/v1/me/totp/confirm", new { code = Code(secret) }, pin: null);
        confirmed.StatusCode.ShouldBe(HttpStatusCode.NoContent, await confirmed.Content.ReadAsStringAsync());
        host.Clock.Advance(TimeSpan.FromSeconds(30));
        return secret;
    }

    private static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, int status, string code)
    {
        await response.ShouldBeProblemAsync(status, code);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    [Fact]
    public async Task Enrolment_gives_a_secret_and_uri_and_a_code_confirms_it_once()
    {
        var user = await UserAsync();
        var enrolled = await user.PostAsync("/v1/me/totp", new { }, pin: null);
        enrolled.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = (await enrolled.Content.ReadFromJsonAsync<JsonObject>())!;
        var first = body["secret"]!.GetValue<string>();
        Base32Encoding.ToBytes(first).Length.ShouldBe(20);
        var masked = user.Phone[..3] + "****" + user.Phone[^4..];
        body["otpauth_uri"]!.GetValue<string>().ShouldBe(
            $"otpauth://totp/Qianbao:{Uri.EscapeDataString(masked)}?secret={first}&issuer=Qianbao&algorithm=SHA1&digits=6&period=30");

        // Asking again replaces the unconfirmed secret: the first one's codes no longer confirm.
        var second = await EnrolAsync(user);
        second.ShouldNotBe(first);
        if (Code(first) != Code(second))
            await ProblemAsync(await user.PostAsync("/v1/me/totp/confirm", new { code = Code(first) }, pin: null), 422, "invalid_totp_code");
        var wrong = Code(second) == "000000" ? "000001" : "000000";
        await ProblemAsync(await user.PostAsync("/v1/me/totp/confirm", new { code = wrong }, pin: null), 422, "invalid_totp_code");
        foreach (var malformed in new[] { "", "12345", "1234567", "abcdef" })
            await ProblemAsync(await user.PostAsync("/v1/me/totp/confirm", new { code = malformed }, pin: null), 422, "invalid_totp_code");

        var confirmed = await user.PostAsync("/v1/me/totp/confirm", new { code = Code(second) }, pin: null);
        confirmed.StatusCode.ShouldBe(HttpStatusCode.NoContent, await confirmed.Content.ReadAsStringAsync());
        (await host.ScalarAsync<long>("SELECT count(*) FROM security_events WHERE user_id = @id AND kind = 'totp_enabled'", new { id = user.UserId })).ShouldBe(1);
        (await host.ScalarAsync<long>("SELECT totp_enabled FROM users WHERE id = @id", new { id = user.UserId })).ShouldBe(1);

        // On: no new secret for whoever holds the token, and confirming again is refused.
        await ProblemAsync(await user.PostAsync("/v1/me/totp", new { }, pin: null), 409, "totp_already_enabled");
        await ProblemAsync(await user.PostAsync("/v1/me/totp/confirm", new { code = Code(second) }, pin: null), 409, "totp_already_enabled");
    }

    [Fact]
    public async Task Totp_routes_need_a_token_and_answer_malformed_bodies_with_4xx()
    {
        (await http.PostAsJsonAsync("/v1/me/totp", new { })).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await http.PostAsJsonAsync("/v1/me/totp/confirm", new { code = "123456" })).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var user = await UserAsync();
        // Confirming before enrolling is a wrong code.
        await ProblemAsync(await user.PostAsync("/v1/me/totp/confirm", new { code = "123456" }, pin: null), 422, "invalid_totp_code");
        foreach (var body in new[] { "", "{", "[]", "{\"code\":123456}", "null" })
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/me/totp/confirm") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new("Bearer", user.AccessToken);
            var response = await http.SendAsync(request);
            ((int)response.StatusCode).ShouldBeInRange(400, 499, body + " → " + await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_large_transfer_needs_a_totp_code_used_once_and_refusals_move_nothing()
    {
        var sender = await UserAsync();
        var recipient = await UserAsync();
        await sender.TopUpAsync(3 * Large);

        // Without TOTP only SMS is offered; the threshold itself needs nothing.
        (await ProblemAsync(await TransferAsync(sender, recipient, Large, stepUp: null), 403, "step_up_required"))["methods"]!.AsArray()
            .Select(m => m!.GetValue<string>()).ShouldBe(["sms"]);
        (await TransferAsync(sender, recipient, StepUpHost.StepUpAbove, stepUp: null)).StatusCode.ShouldBe(HttpStatusCode.Created);
        await ProblemAsync(await TransferAsync(sender, recipient, Large, stepUp: "totp=" + "123456"), 403, "invalid_step_up");

        var secret = await EnableTotpAsync(sender);
        (await ProblemAsync(await TransferAsync(sender, recipient, Large, stepUp: null), 403, "step_up_required"))["methods"]!.AsArray()
            .Select(m => m!.GetValue<string>()).ShouldBe(["totp", "sms"]);
        // The PIN comes first: a wrong PIN with a right second factor is a wrong PIN, and does not use the code.
        await ProblemAsync(await sender.PostAsync("/v1/transfers", new { to_user_id = recipient.UserId, amount = Large, currency = "CNY" }, pin: "246801",
            stepUp: "totp=" + Code(secret)), 403, "invalid_pin");
        foreach (var malformed in new[] { "totp=", "totp=12345", "totp=abcdef", "TOTP=" + Code(secret), "otp=" + Code(secret), "sms=", "sms=x:y", "sms=" + Guid.NewGuid() + ":123456" })
            await ProblemAsync(await TransferAsync(sender, recipient, Large, stepUp: malformed), 403, "invalid_step_up");
        var wrong = Code(secret) == "000000" ? "000001" : "000000";
        await ProblemAsync(await TransferAsync(sender, recipient, Large, stepUp: "totp=" + wrong), 403, "invalid_step_up");
        (await sender.AvailableAsync()).ShouldBe(3 * Large - StepUpHost.StepUpAbove);
        (await recipient.AvailableAsync()).ShouldBe(StepUpHost.StepUpAbove);

        var code = Code(secret);
        var ok = await TransferAsync(sender, recipient, Large, stepUp: "totp=" + code);
        ok.StatusCode.ShouldBe(HttpStatusCode.Created, await ok.Content.ReadAsStringAsync());
        await ProblemAsync(await TransferAsync(sender, recipient, Large, stepUp: "totp=" + code), 403, "invalid_step_up");
        // A code of an earlier step than the one used is refused too (steps only move forward).
        await ProblemAsync(await TransferAsync(sender, recipient, Large, stepUp: "totp=" + CodeAt(secret, TimeSpan.FromSeconds(-30))), 403, "invalid_step_up");
        (await recipient.AvailableAsync()).ShouldBe(StepUpHost.StepUpAbove + Large);

        // Withdrawals need it too; payments of trades and payment codes do not.
        await ProblemAsync(await sender.PostAsync("/v1/withdrawals", new { amount = Large, currency = "CNY" }), 403, "step_up_required");
    }

    [Fact]
    public async Task Two_concurrent_uses_of_one_totp_code_pass_once()
    {
        var sender = await UserAsync();
        var recipient = await UserAsync();
        await sender.TopUpAsync(4 * Large);
        var secret = await EnableTotpAsync(sender);
        var code = Code(secret);
        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => TransferAsync(sender, recipient, Large, stepUp: "totp=" + code)));
        answers.Count(a => a.StatusCode == HttpStatusCode.Created).ShouldBe(1);
        answers.Count(a => a.StatusCode == HttpStatusCode.Forbidden).ShouldBe(3);
        (await recipient.AvailableAsync()).ShouldBe(Large);
    }

    [Fact]
    public async Task An_sms_code_for_step_up_is_accepted_once()
    {
        var sender = await UserAsync();
        var recipient = await UserAsync();
        await sender.TopUpAsync(3 * Large);
        var (verificationId, code) = await SandboxSms.VerifyAsync(http, host.OperatorKey, sender.Phone, "step_up", sender.AccessToken);
        var wrong = code == "000000" ? "000001" : "000000";
        await ProblemAsync(await TransferAsync(sender, recipient, Large, stepUp: $"sms={verificationId}:{wrong}"), 403, "invalid_step_up");
        // A set_pin code is not a step-up code.
        host.Clock.Advance(TimeSpan.FromSeconds(61));
        var (pinVerification, pinCode) = await SandboxSms.VerifyAsync(http, host.OperatorKey, sender.Phone, "set_pin", sender.AccessToken);
        await ProblemAsync(await TransferAsync(sender, recipient, Large, stepUp: $"sms={pinVerification}:{pinCode}"), 403, "invalid_step_up");

        var ok = await TransferAsync(sender, recipient, Large, stepUp: $"sms={verificationId}:{code}");
        ok.StatusCode.ShouldBe(HttpStatusCode.Created, await ok.Content.ReadAsStringAsync());
        await ProblemAsync(await TransferAsync(sender, recipient, Large, stepUp: $"sms={verificationId}:{code}"), 403, "invalid_step_up");
        (await recipient.AvailableAsync()).ShouldBe(Large);
        (await sender.AvailableAsync()).ShouldBe(2 * Large);
    }
}

public sealed class SqliteTotpStepUpTests(StepUpSqliteHost host) : TotpStepUpTests<StepUpSqliteHost>(host);

public sealed class PostgresTotpStepUpTests(StepUpPostgresHost host) : TotpStepUpTests<StepUpPostgresHost>(host);

/// <summary>A new device's first hour: every transfer and withdrawal needs step-up, whatever the amount.</summary>
public abstract class NewDeviceHost(DatabaseEngine engine) : SpendSecurityHost(engine)
{
    protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings() => [new("Qianbao:Security:NewDeviceStepUpHours", "1")];
}

public sealed class NewDeviceSqliteHost() : NewDeviceHost(DatabaseEngine.Sqlite);

public sealed class NewDevicePostgresHost() : NewDeviceHost(DatabaseEngine.Postgres);

public abstract class NewDeviceStepUpTests<THost>(THost host) : IClassFixture<THost> where THost : NewDeviceHost
{
    private readonly HttpClient http = host.CreateClient();

    [Fact]
    public async Task A_device_needs_step_up_for_small_transfers_until_its_window_ends()
    {
        var sender = await SecureUser.CreateAsync(http, host.OperatorKey);
        var recipient = await SecureUser.CreateAsync(http, host.OperatorKey);
        await sender.TopUpAsync(1_000);
        var transfer = new { to_user_id = recipient.UserId, amount = 100, currency = "CNY" };
        await (await sender.PostAsync("/v1/transfers", transfer)).ShouldBeProblemAsync(403, "step_up_required");
        await (await sender.PostAsync("/v1/withdrawals", new { amount = 100, currency = "CNY" })).ShouldBeProblemAsync(403, "step_up_required");
        // Payment codes are not transfers: the PIN is enough.
        (await sender.PostAsync("/v1/payment-codes", new { })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await recipient.AvailableAsync()).ShouldBe(0);

        var (verificationId, code) = await SandboxSms.VerifyAsync(http, host.OperatorKey, sender.Phone, "step_up", sender.AccessToken);
        (await sender.PostAsync("/v1/transfers", transfer, stepUp: $"sms={verificationId}:{code}")).StatusCode.ShouldBe(HttpStatusCode.Created);

        host.Clock.Advance(TimeSpan.FromMinutes(61));
        var later = await sender.PostAsync("/v1/transfers", transfer);
        later.StatusCode.ShouldBe(HttpStatusCode.Created, await later.Content.ReadAsStringAsync());
        (await recipient.AvailableAsync()).ShouldBe(200);
    }
}

public sealed class SqliteNewDeviceStepUpTests(NewDeviceSqliteHost host) : NewDeviceStepUpTests<NewDeviceSqliteHost>(host);

public sealed class PostgresNewDeviceStepUpTests(NewDevicePostgresHost host) : NewDeviceStepUpTests<NewDevicePostgresHost>(host);
