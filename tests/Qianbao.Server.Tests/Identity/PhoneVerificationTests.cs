using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Identity;

/// <summary>Item 1 of account security: a phone is proven by a code before it is registered.</summary>
public abstract class PhoneVerificationTests<THost>(THost host) : IClassFixture<THost> where THost : SecureHost
{
    private static int counter;
    private readonly HttpClient http = host.CreateClient();

    private static string NewPhone() => "137" + Interlocked.Increment(ref counter).ToString("D4") + Random.Shared.Next(0, 10_000).ToString("D4");

    private Task<HttpResponseMessage> RegisterAsync(string phone, string? verificationId, string? code) =>
        http.PostAsJsonAsync("/v1/users", new { phone, password = "correct horse", name = "Li Lei", verification_id = verificationId, code });

    private Task<HttpResponseMessage> AskAsync(string phone, string purpose = "register") =>
        http.PostAsJsonAsync("/v1/verifications", new { phone, purpose });

    [Fact]
    public async Task A_code_from_the_phone_registers_it_once()
    {
        var phone = NewPhone();
        var (id, code) = await SandboxSms.VerifyAsync(http, host.OperatorKey, phone, "register");
        (await SandboxSms.TextsAsync(http, host.OperatorKey, phone))[0].ShouldContain("验证码"); // zh-CN by default

        var created = await RegisterAsync(phone, id, code);
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());

        var again = await RegisterAsync(NewPhone(), id, code);
        await (again).ShouldBeProblemAsync((int)HttpStatusCode.UnprocessableEntity, "invalid_verification_code");
    }

    [Fact]
    public async Task Without_a_code_or_with_a_wrong_one_nothing_is_registered()
    {
        var phone = NewPhone();
        await (await RegisterAsync(phone, null, null)).ShouldBeProblemAsync((int)HttpStatusCode.BadRequest, "invalid_verification");
        var (id, code) = await SandboxSms.VerifyAsync(http, host.OperatorKey, phone, "register");
        var wrong = code == "000000" ? "000001" : "000000";
        await (await RegisterAsync(phone, id, wrong)).ShouldBeProblemAsync((int)HttpStatusCode.UnprocessableEntity, "invalid_verification_code");
        // A code for one phone does not register another.
        await (await RegisterAsync(NewPhone(), id, code)).ShouldBeProblemAsync((int)HttpStatusCode.UnprocessableEntity, "invalid_verification_code");
        (await RegisterAsync(phone, id, code)).StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Five_wrong_tries_kill_the_code()
    {
        var phone = NewPhone();
        var (id, code) = await SandboxSms.VerifyAsync(http, host.OperatorKey, phone, "register");
        var wrong = code == "999999" ? "999998" : "999999";
        for (var i = 0; i < 5; i++)
            await (await RegisterAsync(phone, id, wrong)).ShouldBeProblemAsync((int)HttpStatusCode.UnprocessableEntity, "invalid_verification_code");
        await (await RegisterAsync(phone, id, code)).ShouldBeProblemAsync((int)HttpStatusCode.UnprocessableEntity, "invalid_verification_code");
    }

    [Fact]
    public async Task A_code_lives_five_minutes()
    {
        var phone = NewPhone();
        var (id, code) = await SandboxSms.VerifyAsync(http, host.OperatorKey, phone, "register");
        host.Clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        await (await RegisterAsync(phone, id, code)).ShouldBeProblemAsync((int)HttpStatusCode.UnprocessableEntity, "invalid_verification_code");
    }

    [Fact]
    public async Task One_code_per_phone_and_purpose_a_minute_and_ten_a_day()
    {
        // The day's allowance is a fixed window from 00:00 UTC (RateCounters): the eleven asks below span about ten minutes of
        // the test clock, so near the end of a day (CI at 23:50 UTC) they would fall in two windows. Start in a fresh day then.
        var now = host.Clock.GetUtcNow();
        var toNextDay = now.UtcDateTime.Date.AddDays(1) - now.UtcDateTime;
        if (toNextDay < TimeSpan.FromMinutes(30)) host.Clock.Advance(toNextDay + TimeSpan.FromMinutes(1));
        var phone = NewPhone();
        (await AskAsync(phone)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var again = await AskAsync(phone);
        await (again).ShouldBeProblemAsync((int)HttpStatusCode.TooManyRequests, "too_many_requests");
        var retryAfter = again.Headers.RetryAfter?.Delta ?? throw new ShouldAssertException("429 without Retry-After");
        retryAfter.ShouldBeInRange(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        // Another purpose is another minute's allowance, until the day's ten are gone.
        (await AskAsync(phone, "login")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var sent = 2;
        while (sent < 10)
        {
            host.Clock.Advance(TimeSpan.FromSeconds(61));
            if ((await AskAsync(phone)).StatusCode == HttpStatusCode.Accepted) sent++;
            else throw new ShouldAssertException($"code {sent + 1} of the day was refused");
        }
        host.Clock.Advance(TimeSpan.FromSeconds(61));
        var eleventh = await AskAsync(phone);
        await (eleventh).ShouldBeProblemAsync((int)HttpStatusCode.TooManyRequests, "too_many_requests");
        // A different phone is untouched.
        (await AskAsync(NewPhone())).StatusCode.ShouldBe(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task The_answer_does_not_say_whether_a_phone_is_registered()
    {
        var phone = NewPhone();
        var (id, code) = await SandboxSms.VerifyAsync(http, host.OperatorKey, phone, "register");
        (await RegisterAsync(phone, id, code)).StatusCode.ShouldBe(HttpStatusCode.Created);

        var known = await AskAsync(phone, "reset_password");
        var unknown = await AskAsync(NewPhone(), "reset_password");
        known.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        unknown.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var a = (await known.Content.ReadFromJsonAsync<JsonObject>())!;
        var b = (await unknown.Content.ReadFromJsonAsync<JsonObject>())!;
        a.Select(p => p.Key).ShouldBe(b.Select(p => p.Key));
        a["expires_in"]!.GetValue<long>().ShouldBe(300);
        b["expires_in"]!.GetValue<long>().ShouldBe(300);
    }

    [Fact]
    public async Task Rate_counter_windows_older_than_two_days_are_purged_by_later_hits()
    {
        (await AskAsync(NewPhone())).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var db = host.Services.GetRequiredService<Qianbao.Server.Storage.Db>();
        async Task<long> WindowsBeforeAsync(long us)
        {
            await using var connection = await db.OpenAsync();
            return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM rate_counters WHERE window_start_us < @us", new { us });
        }
        var then = Qianbao.Server.Hosting.TimeProviderExtensions.GetUnixMicroseconds(host.Clock) + 1;
        (await WindowsBeforeAsync(then)).ShouldBeGreaterThan(0);

        host.Clock.Advance(Qianbao.Server.Storage.RateCounters.Retention + TimeSpan.FromDays(1));
        (await AskAsync(NewPhone())).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await WindowsBeforeAsync(then)).ShouldBe(0);
    }

    [Theory]
    [InlineData("""{"phone":"13800138000","purpose":"lunch"}""", HttpStatusCode.BadRequest, "invalid_purpose")]
    [InlineData("""{"phone":"12","purpose":"register"}""", HttpStatusCode.BadRequest, "invalid_phone")]
    [InlineData("""{"purpose":"register"}""", HttpStatusCode.BadRequest, "invalid_phone")]
    [InlineData("""{"phone":"13800138000","purpose":"set_pin"}""", HttpStatusCode.Unauthorized, "unauthorized")]
    [InlineData("""{"phone":"13800138000","purpose":"step_up"}""", HttpStatusCode.Unauthorized, "unauthorized")]
    [InlineData("""{"phone":13800138000,"purpose":"register"}""", HttpStatusCode.BadRequest, "malformed_json")]
    [InlineData("""[]""", HttpStatusCode.BadRequest, "malformed_json")]
    [InlineData("""{"phone":"13800138000","purpose":null}""", HttpStatusCode.BadRequest, "invalid_purpose")]
    public async Task Malformed_requests_are_4xx_with_a_stable_code(string json, HttpStatusCode status, string code)
    {
        var response = await http.PostAsync("/v1/verifications", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        await response.ShouldBeProblemAsync((int)status, code);
    }
}

public sealed class SqlitePhoneVerificationTests(SecureSqliteHost host) : PhoneVerificationTests<SecureSqliteHost>(host);

public sealed class PostgresPhoneVerificationTests(SecurePostgresHost host) : PhoneVerificationTests<SecurePostgresHost>(host);
