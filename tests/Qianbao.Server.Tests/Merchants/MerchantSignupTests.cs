using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Operators;

namespace Qianbao.Server.Tests.Merchants;

/// <summary>Self-service merchant signup, the operators' review queue, staff logins and roles, with account security on.</summary>
public abstract class MerchantSignupTests<THost>(THost host) : IClassFixture<THost> where THost : SecureHost
{
    private HttpClient Http { get; } = host.CreateClient();

    private HttpClient Op()
    {
        var http = host.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.OperatorKey);
        return http;
    }

    [Fact]
    public async Task A_shop_signs_up_with_an_sms_code_and_every_field_is_checked()
    {
        var phone = SecureUser.NewPhone();
        var email = MerchantAccounts.NewEmail();
        await (await Http.PostAsJsonAsync("/merchant/v1/signup", MerchantAccounts.SignupBody(phone, email)))
            .ShouldBeProblemAsync(400, "invalid_verification");
        var (verificationId, code) = await SandboxSms.VerifyAsync(Http, host.OperatorKey, phone, "merchant_signup");
        await (await Http.PostAsJsonAsync("/merchant/v1/signup", MerchantAccounts.SignupBody(phone, email, verificationId, code == "000000" ? "111111" : "000000")))
            .ShouldBeProblemAsync(422, "invalid_verification_code");
        await (await Http.PostAsJsonAsync("/merchant/v1/signup", MerchantAccounts.SignupBody(phone, email, verificationId, code, creditCode: "91110000802100433A")))
            .ShouldBeProblemAsync(400, "invalid_credit_code");
        var badId = (JsonObject)JsonSerializerNode(MerchantAccounts.SignupBody(phone, email, verificationId, code));
        badId["legal_person_id_number"] = "110105194912310021";
        await (await Http.PostAsJsonAsync("/merchant/v1/signup", badId)).ShouldBeProblemAsync(400, "invalid_id_number");
        var badEmail = (JsonObject)JsonSerializerNode(MerchantAccounts.SignupBody(phone, "not-an-address", verificationId, code));
        await (await Http.PostAsJsonAsync("/merchant/v1/signup", badEmail)).ShouldBeProblemAsync(400, "invalid_email");

        var creditCode = CreditCodes.New();
        var created = await Http.PostAsJsonAsync("/merchant/v1/signup", MerchantAccounts.SignupBody(phone, email, verificationId, code, creditCode: creditCode));
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var body = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        body.Select(p => p.Key).Order().ShouldBe(["merchant_id", "otpauth_uri", "status", "totp_secret"]);
        body["status"]!.GetValue<string>().ShouldBe("pending");
        body["otpauth_uri"]!.GetValue<string>().ShouldStartWith("otpauth://totp/");
        body["otpauth_uri"]!.GetValue<string>().ShouldContain("secret=" + body["totp_secret"]!.GetValue<string>());
        var merchantId = body["merchant_id"]!.GetValue<Guid>();

        // The code was used up; a second shop with the same e-mail or the same credit code is refused.
        var (v2, c2) = await SandboxSms.VerifyAsync(Http, host.OperatorKey, SecureUser.NewPhone(), "merchant_signup");
        await (await Http.PostAsJsonAsync("/merchant/v1/signup", MerchantAccounts.SignupBody(phone, MerchantAccounts.NewEmail(), verificationId, code)))
            .ShouldBeProblemAsync(422, "invalid_verification_code");
        var phone3 = SecureUser.NewPhone();
        var (v3, c3) = await SandboxSms.VerifyAsync(Http, host.OperatorKey, phone3, "merchant_signup");
        await (await Http.PostAsJsonAsync("/merchant/v1/signup", MerchantAccounts.SignupBody(phone3, MerchantAccounts.NewEmail(), v3, c3, creditCode: creditCode)))
            .ShouldBeProblemAsync(409, "licence_taken");
        var phone4 = SecureUser.NewPhone();
        var (v4, c4) = await SandboxSms.VerifyAsync(Http, host.OperatorKey, phone4, "merchant_signup");
        await (await Http.PostAsJsonAsync("/merchant/v1/signup", MerchantAccounts.SignupBody(phone4, email.ToUpperInvariant(), v4, c4)))
            .ShouldBeProblemAsync(409, "email_taken");
        _ = (v2, c2);

        // The legal person's ID and name, the phone and the credit code are sealed in the row; the operator sees the licence opened.
        await using (var connection = await host.Services.GetRequiredService<Db>().OpenAsync())
        {
            var row = await connection.QuerySingleAsync<(string Licence, string LegalPerson, string IdNumber, string Phone)>(
                "SELECT licence_enc, legal_person, legal_person_id_enc, contact_phone FROM merchants WHERE id = @merchantId", new { merchantId });
            foreach (var value in new[] { row.Licence, row.LegalPerson, row.IdNumber, row.Phone }) value.ShouldStartWith("v1.");
            (await connection.QuerySingleAsync<long>("SELECT COUNT(*) FROM merchant_staff WHERE email LIKE '%@%'")).ShouldBe(0L, "staff e-mails are blind indexes");
        }
        (await Op().GetFromJsonAsync<JsonObject>($"/admin/v1/merchants/{merchantId}"))!["licence_no"]!.GetValue<string>().ShouldBe(creditCode);
    }

    private static JsonNode JsonSerializerNode(object value) => System.Text.Json.JsonSerializer.SerializeToNode(value)!;

    [Fact]
    public async Task Operators_review_the_queue_approving_or_rejecting_with_a_reason()
    {
        var approved = await MerchantAccounts.SignupAsync(Http, host.OperatorKey, relaxed: false);
        var rejected = await MerchantAccounts.SignupAsync(Http, host.OperatorKey, relaxed: false);
        var queue = (await Op().GetFromJsonAsync<JsonObject>("/admin/v1/merchants/signups"))!["items"]!.AsArray();
        queue.Select(i => i!["id"]!.GetValue<Guid>()).ShouldContain(approved.MerchantId);
        queue.Select(i => i!["id"]!.GetValue<Guid>()).ShouldContain(rejected.MerchantId);

        await (await Op().PostAsJsonAsync($"/admin/v1/merchants/{rejected.MerchantId}/reject", new { reason = " " })).ShouldBeProblemAsync(400, "invalid_reason");
        var rejecting = await Op().PostAsJsonAsync($"/admin/v1/merchants/{rejected.MerchantId}/reject", new { reason = "营业执照照片不清晰" });
        rejecting.StatusCode.ShouldBe(HttpStatusCode.OK, await rejecting.Content.ReadAsStringAsync());
        await MerchantAccounts.ApproveAsync(Http, host.OperatorKey, approved.MerchantId);
        await (await Op().PostAsJsonAsync($"/admin/v1/merchants/{approved.MerchantId}/reject", new { reason = "late" })).ShouldBeProblemAsync(409, "not_pending");
        await (await Op().PostAsJsonAsync($"/admin/v1/merchants/{Guid.NewGuid()}/reject", new { reason = "x" })).ShouldBeProblemAsync(404, "not_found");

        var pending = (await Op().GetFromJsonAsync<JsonObject>("/admin/v1/merchants/signups"))!["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ToList();
        pending.ShouldNotContain(approved.MerchantId);
        pending.ShouldNotContain(rejected.MerchantId);
        var rejectedList = (await Op().GetFromJsonAsync<JsonObject>("/admin/v1/merchants/signups?status=rejected"))!["items"]!.AsArray();
        rejectedList.Single(i => i!["id"]!.GetValue<Guid>() == rejected.MerchantId)!["rejected_reason"]!.GetValue<string>().ShouldBe("营业执照照片不清晰");
        (await Op().GetFromJsonAsync<JsonObject>($"/admin/v1/merchants/{approved.MerchantId}"))!["status"]!.GetValue<string>().ShouldBe("verified");
        // The shop sees where its signup stands.
        var rejectedToken = await MerchantAccounts.LoginAsync(Http, rejected, host.Clock.GetUtcNow());
        var me = (await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/me", rejectedToken)).Content.ReadFromJsonAsync<JsonObject>())!;
        me["status"]!.GetValue<string>().ShouldBe("rejected");
        me["rejected_reason"]!.GetValue<string>().ShouldBe("营业执照照片不清晰");
        me["role"]!.GetValue<string>().ShouldBe("admin");
        await (await Op().GetAsync("/admin/v1/merchants/signups?status=bogus")).ShouldBeProblemAsync(400, "invalid_status");
    }

    [Fact]
    public async Task A_signup_on_the_watchlist_waits_for_its_case()
    {
        var name = "胡" + Guid.NewGuid().ToString("N")[..6].ToUpperInvariant() + "某";
        (await Op().PostAsJsonAsync("/admin/v1/risk/watchlist", new { name, list = "test sanctions", note = "from a test" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        var shop = await MerchantAccounts.SignupAsync(Http, host.OperatorKey, relaxed: false, legalPerson: name);
        await (await Op().PostAsync($"/admin/v1/merchants/{shop.MerchantId}/verify", null)).ShouldBeProblemAsync(409, "under_review");
        (await Op().GetFromJsonAsync<JsonObject>("/admin/v1/merchants/signups"))!["items"]!.AsArray()
            .Single(i => i!["id"]!.GetValue<Guid>() == shop.MerchantId)!["screening_hold"]!.GetValue<bool>().ShouldBeTrue();
    }

    [Fact]
    public async Task The_admin_logs_in_with_totp_once_per_code_and_wrong_passwords_lock_the_login()
    {
        var admin = await MerchantAccounts.SignupAsync(Http, host.OperatorKey, relaxed: false);
        await (await MerchantAccounts.TokenAsync(Http, admin, null)).ShouldBeProblemAsync(401, "invalid_credentials");
        var code = OperatorSupport.Code(admin.TotpSecret!, host.Clock.GetUtcNow());
        var ok = await MerchantAccounts.TokenAsync(Http, admin, code);
        ok.StatusCode.ShouldBe(HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
        var body = (await ok.Content.ReadFromJsonAsync<JsonObject>())!;
        body["access_token"]!.GetValue<string>().ShouldStartWith("qbm1.");
        body["role"]!.GetValue<string>().ShouldBe("admin");
        body["merchant_id"]!.GetValue<Guid>().ShouldBe(admin.MerchantId);
        await (await MerchantAccounts.TokenAsync(Http, admin, code)).ShouldBeProblemAsync(401, "invalid_credentials");

        var cashier = await MerchantAccounts.AddStaffAsync(Http, body["access_token"]!.GetValue<string>(), admin.MerchantId, "cashier");
        cashier.TotpSecret.ShouldBeNull();
        var wrong = cashier with { Password = "wrong password 123" };
        for (var i = 0; i < 4; i++) await (await MerchantAccounts.TokenAsync(Http, wrong, null)).ShouldBeProblemAsync(401, "invalid_credentials");
        await (await MerchantAccounts.TokenAsync(Http, wrong, null)).ShouldBeProblemAsync(401, "invalid_credentials");
        await (await MerchantAccounts.TokenAsync(Http, cashier, null)).ShouldBeProblemAsync(429, "too_many_attempts");
        host.Clock.Advance(TimeSpan.FromMinutes(16));
        (await MerchantAccounts.TokenAsync(Http, cashier, null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        // Unknown addresses lock alike.
        var stranger = new MerchantLogin(Guid.Empty, MerchantAccounts.NewEmail(), "whatever password", null, "admin");
        for (var i = 0; i < 5; i++) await (await MerchantAccounts.TokenAsync(Http, stranger, null)).ShouldBeProblemAsync(401, "invalid_credentials");
        await (await MerchantAccounts.TokenAsync(Http, stranger, null)).ShouldBeProblemAsync(429, "too_many_attempts");
    }

    [Fact]
    public async Task Roles_decide_what_staff_may_do_and_other_tokens_do_not_pass()
    {
        var admin = await MerchantAccounts.SignupAsync(Http, host.OperatorKey, relaxed: false);
        var adminToken = await MerchantAccounts.LoginAsync(Http, admin, host.Clock.GetUtcNow());
        var analyst = await MerchantAccounts.AddStaffAsync(Http, adminToken, admin.MerchantId, "analyst");
        var analystToken = await MerchantAccounts.LoginAsync(Http, analyst);
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, "/merchant/v1/staff", analystToken,
            new { email = MerchantAccounts.NewEmail(), password = MerchantAccounts.Password, role = "admin" })).ShouldBeProblemAsync(403, "forbidden");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, "/merchant/v1/staff", adminToken,
            new { email = MerchantAccounts.NewEmail(), password = MerchantAccounts.Password, role = "owner" })).ShouldBeProblemAsync(400, "invalid_role");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, "/merchant/v1/staff", adminToken,
            new { email = analyst.Email, password = MerchantAccounts.Password, role = "cashier" })).ShouldBeProblemAsync(409, "email_taken");
        var staff = (await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/staff", adminToken)).Content.ReadFromJsonAsync<JsonObject>())!;
        staff["items"]!.AsArray().Select(i => i!["email"]!.GetValue<string>()).Order().ShouldBe(new[] { admin.Email, analyst.Email }.Order());

        // Users' and operators' credentials are not merchants' (and the reverse).
        var user = await SecureUser.CreateAsync(host.CreateClient(), host.OperatorKey);
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/staff", user.AccessToken)).ShouldBeProblemAsync(401, "unauthorized");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/staff", host.OperatorKey)).ShouldBeProblemAsync(401, "unauthorized");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/admin/v1/merchants/signups", adminToken)).ShouldBeProblemAsync(401, "unauthorized");
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/v1/me", adminToken)).ShouldBeProblemAsync(401, "unauthorized");

        // Another merchant's admin cannot disable this one's staff; this one's admin can, and the token stops at once.
        var other = await MerchantAccounts.SignupAsync(Http, host.OperatorKey, relaxed: false);
        var otherToken = await MerchantAccounts.LoginAsync(Http, other, host.Clock.GetUtcNow());
        var analystId = staff["items"]!.AsArray().Single(i => i!["email"]!.GetValue<string>() == analyst.Email)!["id"]!.GetValue<Guid>();
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, $"/merchant/v1/staff/{analystId}/disable", otherToken)).ShouldBeProblemAsync(404, "not_found");
        (await MerchantAccounts.SendAsync(Http, HttpMethod.Post, $"/merchant/v1/staff/{analystId}/disable", adminToken)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/staff", analystToken)).ShouldBeProblemAsync(401, "unauthorized");
        await (await MerchantAccounts.TokenAsync(Http, analyst, null)).ShouldBeProblemAsync(401, "invalid_credentials");
    }
}

public sealed class SqliteMerchantSignupTests(SecureSqliteHost host) : MerchantSignupTests<SecureSqliteHost>(host);

public sealed class PostgresMerchantSignupTests(SecurePostgresHost host) : MerchantSignupTests<SecurePostgresHost>(host);

/// <summary>With Qianbao:Security:Relaxed the SMS code and the admin's TOTP are not asked.</summary>
public abstract class RelaxedMerchantSignupTests<THost>(THost host) : IClassFixture<THost> where THost : QianbaoHost
{
    [Fact]
    public async Task Signup_and_admin_login_need_no_codes()
    {
        var http = host.CreateClient();
        var admin = await MerchantAccounts.SignupAsync(http, host.OperatorKey, relaxed: true);
        (await MerchantAccounts.TokenAsync(http, admin, null)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}

public sealed class SqliteRelaxedMerchantSignupTests(SqliteHost host) : RelaxedMerchantSignupTests<SqliteHost>(host);

public sealed class PostgresRelaxedMerchantSignupTests(PostgresHost host) : RelaxedMerchantSignupTests<PostgresHost>(host);
