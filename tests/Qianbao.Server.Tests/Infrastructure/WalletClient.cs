using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Qianbao.Server.Tests.Infrastructure;

/// <summary>A person using the wallet API: registers, logs in, and calls it with their token.</summary>
public sealed class WalletClient(HttpClient http, Guid userId, string phone, string token)
{
    private static int phoneCounter;

    public Guid UserId => userId;
    public string Phone => phone;
    public string Token => token;
    public HttpClient Http => http;

    /// <summary>Registers a new user with a unique phone number and logs in.</summary>
    public static async Task<WalletClient> RegisterAsync(HttpClient http, string name = "Test User")
    {
        var phone = "139" + Interlocked.Increment(ref phoneCounter).ToString("D4") + Random.Shared.Next(0, 10_000).ToString("D4");
        var created = await http.PostAsJsonAsync("/v1/users", new { phone, password = "correct horse", name });
        if (created.StatusCode == HttpStatusCode.Conflict) return await RegisterAsync(http, name);
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var token = await TokenAsync(http, phone, "correct horse");
        return new WalletClient(http, id, phone, token);
    }

    public static async Task<string> TokenAsync(HttpClient http, string phone, string password)
    {
        var response = await http.PostAsJsonAsync("/v1/auth/token", new { phone, password });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["access_token"]!.GetValue<string>();
    }

    public Task<HttpResponseMessage> PostAsync(string path, object body, string? idempotencyKey = null) =>
        PostRawAsync(path, JsonSerializer.Serialize(body), idempotencyKey ?? Guid.NewGuid().ToString());

    public Task<HttpResponseMessage> PostRawAsync(string path, string json, string? idempotencyKey, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return http.SendAsync(request);
    }

    public async Task<HttpResponseMessage> GetAsync(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    public async Task<JsonObject> GetJsonAsync(string path)
    {
        var response = await GetAsync(path);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>Available CNY balance in fen (0 when the wallet holds no CNY account).</summary>
    public async Task<long> AvailableAsync(string currency = "CNY")
    {
        var wallet = await GetJsonAsync("/v1/wallet");
        return wallet["balances"]!.AsArray().Where(b => b!["currency"]!.GetValue<string>() == currency)
            .Select(b => b!["available"]!.GetValue<long>()).FirstOrDefault();
    }

    /// <summary>Tops up and waits (polling, bounded) until the sandbox bank has confirmed it.</summary>
    public async Task TopUpAsync(long amount, string currency = "CNY")
    {
        var response = await PostAsync("/v1/topups", new { amount, currency });
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        await Poll.UntilAsync(async () => (await GetJsonAsync($"/v1/topups/{id}"))["status"]!.GetValue<string>() == "succeeded",
            $"top-up {id} to succeed");
    }
}

public static class Poll
{
    /// <summary>Polls <paramref name="condition"/> until true, at most <paramref name="timeoutMs"/>; fails the test otherwise.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, int timeoutMs = 15_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(25);
        }
        throw new TimeoutException($"timed out after {timeoutMs} ms waiting for {what}");
    }
}
