using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Qianbao.Server.Http;

namespace Qianbao.Server.Consoles.Shared;

/// <summary>What one API call answered: the status, the JSON body, and for a refusal its stable code and detail.</summary>
internal readonly record struct ApiAnswer(int Status, JsonElement Body)
{
    public bool Ok => Status is >= 200 and < 300;

    /// <summary>The problem's <c>code</c> (see the README's error table), or null for a success.</summary>
    public string? ErrorCode => !Ok && Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("code", out var c) ? c.GetString() : null;

    public string? ErrorDetail => !Ok && Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("detail", out var d) ? d.GetString() : null;

    public string Text(string name) => Body.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.ToString() : "";

    public long Number(string name) => Body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;

    public IEnumerable<JsonElement> Items(string name = "items") =>
        Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : [];
}

/// <summary>
/// The console's only way to act: an HTTP call to this server's own API, made for the browser with the browser's
/// credential (the token in the console's cookie), its address (<c>X-Forwarded-For</c>) and its language. Extra headers
/// carry what the API asks of the person (<c>X-Payment-Pin</c>, <c>X-Step-Up</c>, <c>Idempotency-Key</c>).
/// </summary>
internal sealed class ConsoleApi(HttpClient http, ConsoleApiAddress address, IHttpContextAccessor accessor)
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    public Task<ApiAnswer> GetAsync(string path, string? bearer, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, path, null, bearer, null, ct);

    public Task<ApiAnswer> PostAsync(string path, object? body, string? bearer, CancellationToken ct,
        IReadOnlyDictionary<string, string>? headers = null) => SendAsync(HttpMethod.Post, path, body, bearer, headers, ct);

    public Task<ApiAnswer> PutAsync(string path, object? body, string? bearer, CancellationToken ct,
        IReadOnlyDictionary<string, string>? headers = null) => SendAsync(HttpMethod.Put, path, body, bearer, headers, ct);

    public Task<ApiAnswer> DeleteAsync(string path, string? bearer, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, path, null, bearer, null, ct);

    public async Task<ApiAnswer> SendAsync(HttpMethod method, string path, object? body, string? bearer,
        IReadOnlyDictionary<string, string>? headers, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, new Uri(address.Value, path.TrimStart('/')));
        if (body is not null)
            request.Content = new StringContent(JsonSerializer.Serialize(body, JsonDefaults.Options), Encoding.UTF8, "application/json");
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        var browser = accessor.HttpContext;
        if (browser?.Connection.RemoteIpAddress is { } ip) request.Headers.TryAddWithoutValidation("X-Forwarded-For", ip.ToString());
        if (browser is not null) request.Headers.TryAddWithoutValidation("Accept-Language", ConsoleLanguage.Of(browser).Tag);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            if (!string.IsNullOrEmpty(value)) request.Headers.TryAddWithoutValidation(name, value);
        using var response = await http.SendAsync(request, ct);
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        var json = bytes.Length > 0 && IsJson(response) ? JsonDocument.Parse(bytes).RootElement.Clone() : default;
        return new ApiAnswer((int)response.StatusCode, json);
    }

    /// <summary>Bytes (an image, a CSV) from the API for the browser to download or show.</summary>
    public async Task<(int Status, byte[] Bytes, string ContentType)> GetBytesAsync(string path, string? bearer, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address.Value, path.TrimStart('/')));
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var response = await http.SendAsync(request, ct);
        return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(ct),
            response.Content.Headers.ContentType?.ToString() ?? "application/octet-stream");
    }

    private static bool IsJson(HttpResponseMessage response) =>
        response.Content.Headers.ContentType?.MediaType is { } type && type.Contains("json", StringComparison.OrdinalIgnoreCase);
}
