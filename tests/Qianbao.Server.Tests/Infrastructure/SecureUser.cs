using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Qianbao.Server.Tests.Infrastructure;

/// <summary>
/// A person on a secure server, set up the way the README walkthrough does it: registered with a code from their
/// phone, logged in from a device (with the code a new device needs), a payment PIN set with a code, and their
/// real-name identity verified (class I). Money requests carry <c>X-Payment-Pin</c>.
/// </summary>
public sealed class SecureUser
{
    public const string Password = "correct horse";
    public const string Pin = "135790";
    private static int counter;

    private SecureUser(HttpClient http, string operatorKey, Guid userId, string phone, string deviceId, string accessToken, string? refreshToken)
    {
        Http = http;
        OperatorKey = operatorKey;
        UserId = userId;
        Phone = phone;
        DeviceId = deviceId;
        AccessToken = accessToken;
        RefreshToken = refreshToken;
    }

    public HttpClient Http { get; }
    public string OperatorKey { get; }
    public Guid UserId { get; }
    public string Phone { get; }
    public string DeviceId { get; }
    public string AccessToken { get; private set; }
    public string? RefreshToken { get; private set; }

    /// <summary>A unique mainland mobile number.</summary>
    public static string NewPhone() => "136" + Interlocked.Increment(ref counter).ToString("D4") + Random.Shared.Next(0, 10_000).ToString("D4");

    /// <summary>A valid GB 11643 resident ID number born on <paramref name="birthDate"/> (YYYYMMDD; by default a date unique to the call).</summary>
    public static string NewIdNumber(string? birthDate = null)
    {
        var n = Interlocked.Increment(ref counter);
        birthDate ??= new DateOnly(1970, 1, 1).AddDays(n % 10_000).ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
        var body = "110105" + birthDate + Random.Shared.Next(0, 1000).ToString("D3");
        int[] weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        var sum = 0;
        for (var i = 0; i < 17; i++) sum += (body[i] - '0') * weights[i];
        return body + "10X98765432"[sum % 11];
    }

    /// <summary>Registers, logs in, sets the PIN and (unless <paramref name="verifyIdentity"/> is false) verifies a real-name identity.</summary>
    public static async Task<SecureUser> CreateAsync(HttpClient http, string operatorKey, string name = "李磊", bool setPin = true, bool verifyIdentity = true,
        string? idNumber = null)
    {
        var phone = NewPhone();
        var (verificationId, code) = await SandboxSms.VerifyAsync(http, operatorKey, phone, "register");
        var deviceId = "device-" + Guid.NewGuid().ToString("N")[..12];
        // Registering names the device the code was typed on, so its first login needs no second code.
        var created = await http.PostAsJsonAsync("/v1/users", new { phone, password = Password, name, verification_id = verificationId, code, device_id = deviceId });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var (access, refresh) = await LoginAsync(http, operatorKey, phone, Password, deviceId);
        var user = new SecureUser(http, operatorKey, id, phone, deviceId, access, refresh);
        if (setPin) await user.SetPinAsync(Pin);
        if (verifyIdentity) await user.VerifyIdentityAsync(name, idNumber ?? NewIdNumber());
        return user;
    }

    /// <summary>Logs in from <paramref name="deviceId"/>; a device new to the account is verified with the code sent by SMS.</summary>
    public static async Task<(string Access, string? Refresh)> LoginAsync(HttpClient http, string operatorKey, string phone, string password, string deviceId)
    {
        var response = await http.PostAsJsonAsync("/v1/auth/token", new { phone, password, device_id = deviceId });
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            problem["code"]!.GetValue<string>().ShouldBe("device_verification_required", problem.ToJsonString());
            var verificationId = problem["verification_id"]!.GetValue<string>();
            var code = await SandboxSms.LatestCodeAsync(http, operatorKey, phone);
            response = await http.PostAsJsonAsync("/v1/auth/token", new { phone, password, device_id = deviceId, verification_id = verificationId, code });
        }
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return (body["access_token"]!.GetValue<string>(), body["refresh_token"]?.GetValue<string>());
    }

    public async Task SetPinAsync(string pin)
    {
        var (verificationId, code) = await SandboxSms.VerifyAsync(Http, OperatorKey, Phone, "set_pin", AccessToken);
        var response = await SendAsync(HttpMethod.Put, "/v1/me/payment-pin", new { pin, verification_id = verificationId, code });
        response.StatusCode.ShouldBe(HttpStatusCode.NoContent, await response.Content.ReadAsStringAsync());
    }

    public async Task VerifyIdentityAsync(string name, string idNumber)
    {
        var response = await SendAsync(HttpMethod.Post, "/v1/me/identity", new { name, id_number = idNumber });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The operator raises (or sets) this account's tier, as after reviewing documents: class III spends ¥10,000 a day.</summary>
    public async Task SetTierAsync(string tier)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/users/{UserId}/tier")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { tier, note = "documents reviewed" }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OperatorKey);
        var response = await Http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Sends a request as this user: bearer token, <c>X-Payment-Pin</c> (unless <paramref name="pin"/> is empty), a fresh Idempotency-Key for POSTs.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null, string? pin = Pin, string? idempotencyKey = null,
        string? stepUp = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken);
        if (!string.IsNullOrEmpty(pin)) request.Headers.Add("X-Payment-Pin", pin);
        if (stepUp is not null) request.Headers.Add("X-Step-Up", stepUp);
        if (method == HttpMethod.Post) request.Headers.Add("Idempotency-Key", idempotencyKey ?? Guid.NewGuid().ToString("N"));
        return Http.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostAsync(string path, object body, string? pin = Pin, string? idempotencyKey = null, string? stepUp = null) =>
        SendAsync(HttpMethod.Post, path, body, pin, idempotencyKey, stepUp);

    public async Task<JsonObject> GetJsonAsync(string path)
    {
        var response = await SendAsync(HttpMethod.Get, path, pin: null);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>Tops up <paramref name="amountMinor"/> from the sandbox bank and waits until it is available.</summary>
    public async Task TopUpAsync(long amountMinor)
    {
        var before = await AvailableAsync();
        var response = await PostAsync("/v1/topups", new { amount = amountMinor, currency = "CNY" });
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        await Poll.UntilAsync(async () => await AvailableAsync() == before + amountMinor, "the top-up to post", 20_000);
    }

    public async Task<long> AvailableAsync()
    {
        var wallet = await GetJsonAsync("/v1/wallet");
        return wallet["balances"]!.AsArray().Where(b => b!["currency"]!.GetValue<string>() == "CNY").Select(b => b!["available"]!.GetValue<long>()).SingleOrDefault();
    }

    /// <summary>Replaces the tokens after a refresh.</summary>
    public void UseTokens(string access, string? refresh)
    {
        AccessToken = access;
        RefreshToken = refresh;
    }
}
