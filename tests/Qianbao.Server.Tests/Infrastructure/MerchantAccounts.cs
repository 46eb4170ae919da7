using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Operators;

namespace Qianbao.Server.Tests.Infrastructure;

/// <summary>A signed-up merchant's staff member as the tests hold them.</summary>
public sealed record MerchantLogin(Guid MerchantId, string Email, string Password, string? TotpSecret, string Role);

/// <summary>Self-service merchant signups, staff and logins (<c>/merchant/v1</c>) for tests, relaxed or secure.</summary>
public static class MerchantAccounts
{
    public const string Password = "correct horse battery";

    public static string NewEmail() => $"shop-{Guid.NewGuid():N}"[..20] + "@shop.example";

    public static object SignupBody(string phone, string email, string? verificationId = null, string? code = null, string? creditCode = null,
        string legalPerson = "王小明", string company = "小明便利店") => new
    {
        company_name = company, credit_code = creditCode ?? CreditCodes.New(), legal_person_name = legalPerson,
        legal_person_id_number = SecureUser.NewIdNumber(), contact_phone = phone, email, password = Password, verification_id = verificationId, code,
    };

    /// <summary>Signs a shop up (with an SMS code unless <paramref name="relaxed"/>); its admin's login.</summary>
    public static async Task<MerchantLogin> SignupAsync(HttpClient http, string operatorKey, bool relaxed, string legalPerson = "王小明")
    {
        var phone = SecureUser.NewPhone();
        var email = NewEmail();
        string? verificationId = null, code = null;
        if (!relaxed) (verificationId, code) = await SandboxSms.VerifyAsync(http, operatorKey, phone, "merchant_signup");
        var response = await http.PostAsJsonAsync("/merchant/v1/signup", SignupBody(phone, email, verificationId, code, legalPerson: legalPerson));
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        body["status"]!.GetValue<string>().ShouldBe("pending");
        return new MerchantLogin(body["merchant_id"]!.GetValue<Guid>(), email, Password, body["totp_secret"]!.GetValue<string>(), "admin");
    }

    /// <summary>Approves a merchant (the operator's verify).</summary>
    public static async Task ApproveAsync(HttpClient http, string operatorKey, Guid merchantId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/merchants/{merchantId}/verify");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", operatorKey);
        var response = await http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    public static Task<HttpResponseMessage> TokenAsync(HttpClient http, MerchantLogin login, string? totp) =>
        http.PostAsJsonAsync("/merchant/v1/auth/token", new { email = login.Email, password = login.Password, totp });

    /// <summary>Logs in (a TOTP code for admins from <paramref name="at"/>, when given); the access token.</summary>
    public static async Task<string> LoginAsync(HttpClient http, MerchantLogin login, DateTimeOffset? at = null)
    {
        var totp = at is { } when && login.TotpSecret is { } secret ? OperatorSupport.Code(secret, when) : null;
        var response = await TokenAsync(http, login, totp);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["access_token"]!.GetValue<string>();
    }

    /// <summary>An admin adds a staff member of <paramref name="role"/>; their login.</summary>
    public static async Task<MerchantLogin> AddStaffAsync(HttpClient http, string adminToken, Guid merchantId, string role)
    {
        var email = NewEmail();
        var response = await SendAsync(http, HttpMethod.Post, "/merchant/v1/staff", adminToken, new { email, password = Password, role });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return new MerchantLogin(merchantId, email, Password, body["totp_secret"]?.GetValue<string>(), role);
    }

    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string token, object? body = null,
        string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await http.SendAsync(request);
    }
}
