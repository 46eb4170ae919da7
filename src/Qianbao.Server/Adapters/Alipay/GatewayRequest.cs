using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Primitives;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// A gateway request whose public parameters passed syntactic validation. The signature is not yet checked:
/// that needs the app's public key, which the endpoint looks up by <see cref="AppId"/> and passes to
/// <see cref="VerifySignature"/>.
/// </summary>
internal sealed class GatewayRequest
{
    private GatewayRequest(IReadOnlyDictionary<string, string> parameters, string appId, string method, string sign,
        AlipaySignType signType, DateTimeOffset timestamp, JsonElement? bizContent)
    {
        Parameters = parameters;
        AppId = appId;
        Method = method;
        Sign = sign;
        SignType = signType;
        Timestamp = timestamp;
        BizContent = bizContent;
    }

    /// <summary>Every parameter received, query and body merged, keyed ordinally; the input to the signature.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; }

    /// <summary><c>app_id</c>: 1..64 characters of <c>[A-Za-z0-9_-]</c>. Existence is the endpoint's check.</summary>
    public string AppId { get; }

    /// <summary><c>method</c>, e.g. <c>alipay.trade.precreate</c>: lowercase dotted segments, well-formed.
    /// Whether Qianbao implements it is the endpoint's check (40002 <c>isv.invalid-method</c>).</summary>
    public string Method { get; }

    /// <summary><c>sign</c>, the Base64 signature as received.</summary>
    public string Sign { get; }

    /// <summary><c>sign_type</c>: <see cref="AlipaySignType.Rsa2"/>, or <see cref="AlipaySignType.Rsa"/> which
    /// <see cref="VerifySignature"/> refuses unless the app allows it.</summary>
    public AlipaySignType SignType { get; }

    /// <summary><c>timestamp</c> as an instant; within the configured skew of now when parsed.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary><c>biz_content</c> parsed; always a JSON object when present. Null when the method sent none.</summary>
    public JsonElement? BizContent { get; }

    /// <summary><c>notify_url</c> when present and non-empty; an absolute http or https URL.</summary>
    public string? NotifyUrl => Get("notify_url");

    /// <summary><c>return_url</c> when present and non-empty.</summary>
    public string? ReturnUrl => Get("return_url");

    /// <summary><c>app_auth_token</c> when present and non-empty (a service provider acting for a merchant).</summary>
    public string? AppAuthToken => Get("app_auth_token");

    /// <summary><c>auth_token</c> when present and non-empty (a user's authorization).</summary>
    public string? AuthToken => Get("auth_token");

    /// <summary>The string this request's <see cref="Sign"/> must cover.</summary>
    public string SignContent => AlipaySignature.BuildRequestSignContent(Parameters);

    /// <summary>
    /// Checks <see cref="Sign"/> against the app's public key. Returns null when valid, otherwise the error to
    /// answer with: 40002 <c>isv.invalid-signature-type</c> for RSA (SHA-1) unless
    /// <paramref name="allowRsaSha1"/>, or 40002 <c>isv.invalid-signature</c>.
    /// </summary>
    public GatewayError? VerifySignature(RSA appPublicKey, bool allowRsaSha1 = false)
    {
        ArgumentNullException.ThrowIfNull(appPublicKey);
        if (SignType == AlipaySignType.Rsa && !allowRsaSha1)
        {
            return GatewayErrors.InvalidSignatureType();
        }

        return AlipaySignature.Verify(SignContent, Sign, appPublicKey, SignType)
            ? null
            : GatewayErrors.InvalidSignature();
    }

    /// <summary>
    /// Collects parameters from the query and the form body (see <see cref="GatewayParameters.TryCollect"/>) and
    /// validates the public parameters, in Alipay's order: <c>method</c>, <c>app_id</c>, <c>sign_type</c>,
    /// <c>sign</c>, <c>timestamp</c> (<c>yyyy-MM-dd HH:mm:ss</c> China time, within
    /// <see cref="GatewayRequestOptions.TimestampSkewMax"/> of <paramref name="time"/>'s now), <c>version</c>
    /// (1.0), <c>charset</c> (utf-8 if present), <c>format</c> (JSON if present), <c>notify_url</c>, and
    /// <c>biz_content</c> (a JSON object if present). Never throws for bad input.
    /// </summary>
    public static GatewayParseResult Parse(
        IEnumerable<KeyValuePair<string, StringValues>> query,
        IEnumerable<KeyValuePair<string, StringValues>> form,
        TimeProvider time,
        GatewayRequestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        options ??= GatewayRequestOptions.Default;
        if (!GatewayParameters.TryCollect(query, form, options, out var parameters, out var collectError))
        {
            return GatewayParseResult.Fail(collectError, null);
        }

        return Validate(parameters, time.GetUtcNow(), options);
    }

    private static GatewayParseResult Validate(Dictionary<string, string> p, DateTimeOffset now,
        GatewayRequestOptions options)
    {
        var method = Value(p, "method");
        if (method is null)
        {
            return Fail(GatewayError.MissingArguments(GatewaySubCodes.MissingMethod, "缺少方法名参数"));
        }

        if (!IsWellFormedMethod(method, options.MethodLengthMax))
        {
            return Fail(GatewayErrors.InvalidMethod());
        }

        // From here on the method is safe to echo as the response key.
        GatewayParseResult FailWithMethod(GatewayError error) => GatewayParseResult.Fail(error, method);

        var appId = Value(p, "app_id");
        if (appId is null)
        {
            return FailWithMethod(GatewayError.MissingArguments(GatewaySubCodes.MissingAppId, "缺少appId参数"));
        }

        if (!IsWellFormedAppId(appId))
        {
            return FailWithMethod(GatewayErrors.InvalidAppId());
        }

        var signTypeText = Value(p, "sign_type");
        if (signTypeText is null)
        {
            return FailWithMethod(GatewayError.MissingArguments(GatewaySubCodes.MissingSignatureType, "缺少签名类型参数"));
        }

        AlipaySignType signType;
        switch (signTypeText)
        {
            case "RSA2":
                signType = AlipaySignType.Rsa2;
                break;
            case "RSA":
                signType = AlipaySignType.Rsa;
                break;
            default:
                return FailWithMethod(GatewayErrors.InvalidSignatureType());
        }

        var sign = Value(p, "sign");
        if (sign is null)
        {
            return FailWithMethod(GatewayError.MissingArguments(GatewaySubCodes.MissingSignature, "缺少签名参数"));
        }

        var timestampText = Value(p, "timestamp");
        if (timestampText is null)
        {
            return FailWithMethod(GatewayError.MissingArguments(GatewaySubCodes.MissingTimestamp, "缺少时间戳参数"));
        }

        if (!AlipayTime.TryParseChina(timestampText, out var timestamp)
            || (timestamp - now).Duration() > options.TimestampSkewMax)
        {
            return FailWithMethod(GatewayError.InvalidArguments(GatewaySubCodes.InvalidTimestamp,
                "非法的时间戳参数，格式为 yyyy-MM-dd HH:mm:ss（北京时间），与当前时间相差不能超过 "
                + (int)options.TimestampSkewMax.TotalMinutes + " 分钟"));
        }

        var version = Value(p, "version");
        if (version is null)
        {
            return FailWithMethod(GatewayError.MissingArguments(GatewaySubCodes.MissingVersion, "缺少版本参数"));
        }

        if (version != "1.0")
        {
            return FailWithMethod(GatewayErrors.InvalidParameter("version 只支持 1.0"));
        }

        // Alipay treats a missing charset as its default; the SDK always sends utf-8. Only UTF-8 is decoded here.
        var charset = Value(p, "charset");
        if (charset is not null && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return FailWithMethod(GatewayError.InvalidArguments(GatewaySubCodes.InvalidCharset, "字符集错误，只支持 utf-8"));
        }

        var format = Value(p, "format");
        if (format is not null && !format.Equals("JSON", StringComparison.OrdinalIgnoreCase))
        {
            return FailWithMethod(GatewayError.InvalidArguments(GatewaySubCodes.InvalidFormat, "无效的数据格式，只支持 JSON"));
        }

        // AES-encrypted biz_content is not supported; refusing beats treating ciphertext as JSON.
        if (Value(p, "encrypt_type") is not null)
        {
            return FailWithMethod(GatewayError.InvalidArguments(GatewaySubCodes.InvalidEncryptType, "不支持加密请求"));
        }

        var notifyUrl = Value(p, "notify_url");
        if (notifyUrl is not null && !IsHttpUrl(notifyUrl))
        {
            return FailWithMethod(GatewayErrors.InvalidParameter("notify_url"));
        }

        JsonElement? bizContent = null;
        var bizContentText = Value(p, "biz_content");
        if (bizContentText is not null)
        {
            if (!TryParseJsonObject(bizContentText, options.BizContentDepthMax, out var element))
            {
                return FailWithMethod(GatewayErrors.InvalidParameter("biz_content 必须是 JSON 对象"));
            }

            bizContent = element;
        }

        return GatewayParseResult.Ok(new GatewayRequest(p, appId, method, sign, signType, timestamp, bizContent));

        static GatewayParseResult Fail(GatewayError error) => GatewayParseResult.Fail(error, null);
    }

    private string? Get(string key) => Value(Parameters, key);

    /// <summary>Empty counts as absent, as it does in the string-to-sign.</summary>
    private static string? Value(IReadOnlyDictionary<string, string> p, string key) =>
        p.TryGetValue(key, out var value) && value.Length > 0 ? value : null;

    /// <summary>
    /// Lowercase dotted names such as <c>alipay.trade.fastpay.refund.query</c>. The bound and the alphabet also
    /// keep the response key safe to write verbatim and short enough for the SDK's text slicing.
    /// </summary>
    internal static bool IsWellFormedMethod(string method, int lengthMax)
    {
        if (method.Length > lengthMax || method[0] == '.' || method[^1] == '.' || !method.Contains('.'))
        {
            return false;
        }

        var previousDot = false;
        foreach (var c in method)
        {
            if (c == '.')
            {
                if (previousDot)
                {
                    return false;
                }

                previousDot = true;
                continue;
            }

            previousDot = false;
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsWellFormedAppId(string appId) =>
        appId.Length <= 64 && appId.All(static c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    private static bool IsHttpUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private static bool TryParseJsonObject(string text, int depthMax, out JsonElement element)
    {
        element = default;
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions
            {
                MaxDepth = depthMax,
                // A repeated property would mean two readers of the same signed text could see different values.
                AllowDuplicateProperties = false,
            });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            element = document.RootElement.Clone();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
