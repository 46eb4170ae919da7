using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// A merchant client written in C# with our own signer (<see cref="AlipaySignature"/>): fast enough for races, and
/// free to send what the SDK never would (duplicates, missing or oversize parameters). Lays requests out as the SDK
/// does: public parameters in the query, <c>biz_content</c> in the form body. Every answer is checked for HTTP 200,
/// and a signed answer is verified with the platform key the way the SDK slices it.
/// </summary>
public sealed class GatewayCaller(HttpClient http, string appId, RSA signingKey, string platformPublicKey)
{
    private static readonly string[] QueryKeys =
        ["app_id", "method", "format", "charset", "sign_type", "sign", "timestamp", "version", "notify_url", "return_url", "auth_token", "app_auth_token"];

    /// <summary>The public parameters of a well-formed request for <paramref name="method"/>, unsigned.</summary>
    public Dictionary<string, string> Parameters(string method, object? biz)
    {
        var p = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["app_id"] = appId,
            ["method"] = method,
            ["charset"] = "utf-8",
            ["sign_type"] = "RSA2",
            ["timestamp"] = AlipayTime.ToChinaString(DateTimeOffset.UtcNow),
            ["version"] = "1.0",
        };
        if (biz is not null) p["biz_content"] = biz as string ?? JsonSerializer.Serialize(biz);
        return p;
    }

    /// <summary>Adds <c>sign</c> over the parameters (replacing any).</summary>
    public Dictionary<string, string> Sign(Dictionary<string, string> p)
    {
        p.Remove("sign");
        p["sign"] = AlipaySignature.Sign(AlipaySignature.BuildRequestSignContent(p), signingKey);
        return p;
    }

    /// <summary>A signed, well-formed call.</summary>
    public Task<GatewayAnswer> CallAsync(string method, object? biz, string? notifyUrl = null)
    {
        var p = Parameters(method, biz);
        if (notifyUrl is not null) p["notify_url"] = notifyUrl;
        return SendAsync(method, Sign(p));
    }

    /// <summary>Sends the parameters as given, split like the SDK.</summary>
    public Task<GatewayAnswer> SendAsync(string? method, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var query = new List<KeyValuePair<string, string>>();
        var body = new List<KeyValuePair<string, string>>();
        foreach (var pair in parameters) (QueryKeys.Contains(pair.Key) ? query : body).Add(pair);
        return SendRawAsync(method, Encode(query), Encode(body));
    }

    /// <summary>Posts an already encoded query string and form body.</summary>
    public async Task<GatewayAnswer> SendRawAsync(string? method, string query, string body, string contentType = "application/x-www-form-urlencoded;charset=UTF-8")
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var response = await http.PostAsync("/gateway.do" + (query.Length > 0 ? "?" + query : ""), content);
        var raw = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, raw);
        return GatewayAnswer.Parse(method, raw, platformPublicKey);
    }

    public static string Encode(IEnumerable<KeyValuePair<string, string>> pairs) =>
        string.Join('&', pairs.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
}

/// <summary>A gateway answer: which key it came under, the inner object, and whether its signature verified.</summary>
public sealed record GatewayAnswer(string ResponseKey, JsonElement Inner, string Raw)
{
    /// <summary>Whether the answer carried a <c>sign</c> (verified when it did).</summary>
    public bool Signed { get; init; }

    public string Code => Inner.GetProperty("code").GetString()!;
    public string? SubCode => Inner.TryGetProperty("sub_code", out var s) ? s.GetString() : null;
    public string? this[string name] => Inner.TryGetProperty(name, out var v) ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()) : null;

    /// <summary>Asserts the outcome; <paramref name="subCode"/> null means "no sub_code".</summary>
    public GatewayAnswer ShouldBe(string code, string? subCode = null)
    {
        Code.ShouldBe(code, Raw);
        SubCode.ShouldBe(subCode, Raw);
        return this;
    }

    public static GatewayAnswer Parse(string? method, string raw, string platformPublicKey)
    {
        using var document = JsonDocument.Parse(raw);
        var root = document.RootElement;
        var methodKey = method is null ? null : method.Replace('.', '_') + "_response";
        var key = methodKey is not null && root.TryGetProperty(methodKey, out _) ? methodKey : "error_response";
        root.TryGetProperty(key, out var inner).ShouldBeTrue($"no {methodKey ?? "error_response"} in {raw}");
        if (root.TryGetProperty("sign", out var sign))
        {
            // The SDK's rule: the signed text is the inner object exactly as written between the key and ,"sign".
            var start = raw.IndexOf('{', raw.IndexOf("\"" + key + "\"", StringComparison.Ordinal));
            var end = raw.LastIndexOf(",\"sign\"", StringComparison.Ordinal);
            using var platform = AlipayKeys.ImportPublicKey(platformPublicKey);
            AlipaySignature.Verify(raw[start..end], sign.GetString(), platform).ShouldBeTrue("response signature: " + raw);
        }
        else if (key != "error_response")
        {
            // As Alipay: a request naming no app we know, or refused by a rate limit, gets an unsigned answer (nothing was
            // verified, and no RSA work is spent on it). Every other answer under a method's key is signed.
            var subCode = inner.TryGetProperty("sub_code", out var s) ? s.GetString() : null;
            subCode.ShouldBeOneOf(["isv.missing-app-id", "isv.invalid-app-id", "isv.app-call-limited"], "a method's answer must be signed: " + raw);
        }
        return new GatewayAnswer(key, inner.Clone(), raw) { Signed = root.TryGetProperty("sign", out _) };
    }
}
