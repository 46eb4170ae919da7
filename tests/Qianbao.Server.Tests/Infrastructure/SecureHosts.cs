using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Infrastructure;

/// <summary>The server with account security on (<c>Qianbao:Security:Relaxed=false</c>), as a real deployment runs.</summary>
public abstract class SecureHost(DatabaseEngine engine) : QianbaoHost(engine)
{
    /// <summary>The server's clock: real time plus what a test advances (lockouts and lifetimes run out without sleeping).</summary>
    public Gateway.Sdk.ShiftedClock Clock { get; } = new();

    protected override void ConfigureServices(Microsoft.Extensions.DependencyInjection.IServiceCollection services) =>
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<TimeProvider>(services, Clock);

    protected override IEnumerable<KeyValuePair<string, string?>> Settings() => [new("Qianbao:Security:Relaxed", "false"), .. SecureSettings()];

    /// <summary>More settings of a derived secure host.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> SecureSettings() => [];
}

public sealed class SecureSqliteHost() : SecureHost(DatabaseEngine.Sqlite);

public sealed class SecurePostgresHost() : SecureHost(DatabaseEngine.Postgres);

/// <summary>Reads what the sandbox SMS provider kept, as an operator would: the codes a person received.</summary>
public static partial class SandboxSms
{
    /// <summary>The texts sent to <paramref name="phone"/>, newest first.</summary>
    public static async Task<IReadOnlyList<string>> TextsAsync(HttpClient http, string operatorKey, string phone)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/sandbox/messages?to=" + Uri.EscapeDataString(phone));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", operatorKey);
        var response = await http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var items = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        return [.. items.Select(i => i!["text"]!.GetValue<string>())];
    }

    /// <summary>The 6-digit code in the newest message to <paramref name="phone"/>.</summary>
    public static async Task<string> LatestCodeAsync(HttpClient http, string operatorKey, string phone)
    {
        var texts = await TextsAsync(http, operatorKey, phone);
        texts.ShouldNotBeEmpty($"no message was sent to {phone}");
        return SixDigits().Match(texts[0]) is { Success: true } m ? m.Value : throw new ShouldAssertException($"no code in '{texts[0]}'");
    }

    /// <summary>Asks for a code (<c>POST /v1/verifications</c>) and reads it: (verification_id, code).</summary>
    public static async Task<(string VerificationId, string Code)> VerifyAsync(HttpClient http, string operatorKey, string phone, string purpose,
        string? bearer = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/verifications") { Content = JsonContent.Create(new { phone, purpose }) };
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        var response = await http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["verification_id"]!.GetValue<string>();
        return (id, await LatestCodeAsync(http, operatorKey, phone));
    }

    [GeneratedRegex(@"\b\d{6}\b")]
    private static partial Regex SixDigits();
}
