using System.Security.Cryptography;
using Microsoft.Extensions.Primitives;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Alipay;

/// <summary>Keys generated once per test run; 2048-bit generation costs ~100 ms each.</summary>
internal static class TestKeys
{
    private static readonly Lazy<RSA> LazyApp = new(() => RSA.Create(2048));
    private static readonly Lazy<RSA> LazyPlatform = new(() => RSA.Create(2048));
    private static readonly Lazy<RSA> LazyStranger = new(() => RSA.Create(2048));

    /// <summary>The merchant app's key pair (private half is the SDK's privateKey).</summary>
    public static RSA App => LazyApp.Value;

    /// <summary>The platform's key pair (public half is the SDK's alipayPublicKey).</summary>
    public static RSA Platform => LazyPlatform.Value;

    /// <summary>An unrelated key, for "signed by someone else" cases.</summary>
    public static RSA Stranger => LazyStranger.Value;

    public static RSA PublicOnly(RSA key)
    {
        var copy = RSA.Create();
        copy.ImportSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);
        return copy;
    }
}

/// <summary>A clock that says what the test wants.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>Builds signed gateway requests the way the SDK does: public params in the query, the rest in the body.</summary>
internal static class GatewayRequests
{
    public static readonly DateTimeOffset Now = new(2024, 5, 13, 9, 49, 20, TimeSpan.Zero);

    public static Dictionary<string, string> ValidParameters(DateTimeOffset? timestamp = null) => new(StringComparer.Ordinal)
    {
        ["app_id"] = "2021000122671080",
        ["method"] = "alipay.trade.precreate",
        ["format"] = "JSON",
        ["charset"] = "utf-8",
        ["sign_type"] = "RSA2",
        ["timestamp"] = AlipayTime.ToChinaString(timestamp ?? Now),
        ["version"] = "1.0",
        ["notify_url"] = "http://127.0.0.1:8080/notify?a=b&c=d",
        ["biz_content"] = """{"out_trade_no":"T1","total_amount":"0.01","subject":"中文 & = 测试"}""",
    };

    /// <summary>Adds <c>sign</c> computed over the parameters with <paramref name="key"/>.</summary>
    public static Dictionary<string, string> Signed(Dictionary<string, string> parameters, RSA? key = null,
        AlipaySignType signType = AlipaySignType.Rsa2)
    {
        parameters.Remove("sign");
        parameters["sign"] = AlipaySignature.Sign(AlipaySignature.BuildRequestSignContent(parameters),
            key ?? TestKeys.App, signType);
        return parameters;
    }

    /// <summary>Splits like the SDK: biz_content (and anything else unknown) to the body.</summary>
    public static (List<KeyValuePair<string, StringValues>> Query, List<KeyValuePair<string, StringValues>> Form)
        Split(Dictionary<string, string> parameters)
    {
        var query = new List<KeyValuePair<string, StringValues>>();
        var form = new List<KeyValuePair<string, StringValues>>();
        foreach (var (key, value) in parameters)
        {
            (key == "biz_content" ? form : query).Add(new(key, value));
        }

        return (query, form);
    }

    public static GatewayParseResult Parse(Dictionary<string, string> parameters, DateTimeOffset? now = null,
        GatewayRequestOptions? options = null)
    {
        var (query, form) = Split(parameters);
        return GatewayRequest.Parse(query, form, new FixedTimeProvider(now ?? Now), options);
    }
}
