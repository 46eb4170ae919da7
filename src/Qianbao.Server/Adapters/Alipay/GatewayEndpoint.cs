using System.Collections.Concurrent;
using System.Security.Cryptography;
using Dapper;
using Microsoft.AspNetCore.Http.Features;
using Qianbao.Server.Adapters.Alipay.Methods;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// <c>POST /gateway.do</c>, wire-compatible with the Alipay OpenAPI v2 gateway: parameters from the query
/// string and the form body, RSA2 request verification against the app's key, a timestamp window, app and
/// merchant status checks, then the method. The answer is always HTTP 200, as Alipay's is; failures carry code/sub_code.
/// </summary>
/// <remarks>
/// What a request may cost before it has proved anything is bounded: the per-address limit is checked before the request
/// is read, the per-app limit once the app is found and before its signature is verified (RSA verification), and no
/// answer to a request refused before its app is known is signed per request (RSA signing): a refused-by-limit or
/// unknown-app answer is unsigned, as Alipay's is; a malformed request's fixed answer is signed once and reused
/// (<see cref="GatewayFixedAnswers"/>). Answers to a known app are signed with the platform key.
/// </remarks>
internal sealed class GatewayEndpoint(Db db, PlatformKeyRing keys, GatewayMethods methods, GatewayOptions options, TimeProvider clock,
    Modules.Merchants.NotifyUrlPolicy notifyUrls, GatewayLimits limits, GatewayFixedAnswers fixedAnswers, ILogger<GatewayEndpoint> logger)
{
    public const int BodyBytesMax = 64 * 1024;
    private readonly ConcurrentDictionary<string, RSA> appKeys = new(StringComparer.Ordinal);

    /// <summary>How an answer is signed, by how far the request got.</summary>
    private enum Signing
    {
        /// <summary>The app is known: signed with the platform key.</summary>
        PerRequest,

        /// <summary>Refused while its parameters were read, before any app was looked up: a fixed text, signed once.</summary>
        Fixed,

        /// <summary>Refused by a limit, or naming no app we know: unsigned, as Alipay answers an unknown app.</summary>
        None,
    }

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/gateway.do", (HttpContext http, GatewayEndpoint endpoint, CancellationToken ct) => endpoint.HandleAsync(http, ct))
            .WithTags("Gateway").DisableAntiforgery();

    private async Task<IResult> HandleAsync(HttpContext http, CancellationToken ct)
    {
        var (result, method, signing) = await ExecuteAsync(http, ct);
        var body = (result.Error, signing) switch
        {
            ({ } error, Signing.None) => GatewayResponseWriter.WriteUnsignedError(method, error),
            ({ } error, Signing.Fixed) when result.Fields.Count == 0 => fixedAnswers.Get(keys.Current.PrivateKey, method, error),
            ({ } error, _) => new GatewayResponseWriter(keys.Current.PrivateKey).WriteError(method, error, result.Fields),
            _ => new GatewayResponseWriter(keys.Current.PrivateKey).WriteSuccess(method!, result.Fields),
        };
        return Results.Bytes(body, "application/json; charset=utf-8");
    }

    private async Task<(GatewayResult Result, string? Method, Signing Signing)> ExecuteAsync(HttpContext http, CancellationToken ct)
    {
        // Before reading anything: the method for the answer's key comes from the query string only (where the SDK puts it).
        if (!limits.AllowsAddress(http.Connection.RemoteIpAddress))
            return (GatewayResult.Fail(GatewayLimits.AppCallLimited("调用频率超限（来源地址），请降低请求并发量")), MethodHint(http.Request.Query, FormCollection.Empty), Signing.None);
        if (http.Request.ContentLength > BodyBytesMax)
            return (GatewayResult.InvalidParameter("请求体过大"), MethodHint(http.Request.Query, FormCollection.Empty), Signing.Fixed);
        IFormCollection form = FormCollection.Empty;
        if (http.Request.HasFormContentType)
        {
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = BodyBytesMax;
            try
            {
                form = await http.Request.ReadFormAsync(new FormOptions { ValueLengthLimit = BodyBytesMax, ValueCountLimit = 128, BufferBody = false }, ct);
            }
            catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or IOException)
            {
                return (GatewayResult.InvalidParameter("请求体不合法"), null, Signing.Fixed);
            }
        }

        var parsed = GatewayRequest.Parse(http.Request.Query, form, clock);
        var method = (parsed.Method ?? MethodHint(http.Request.Query, form)) is { } m && methods.IsKnown(m) ? m : null;
        if (!parsed.IsSuccess)
        {
            // A missing or malformed app_id names no app: answered unsigned, like an unknown one.
            var noApp = parsed.Error!.Value.SubCode is GatewaySubCodes.MissingAppId or GatewaySubCodes.InvalidAppId;
            return (new GatewayResult(parsed.Error, []), method, noApp ? Signing.None : Signing.Fixed);
        }
        var request = parsed.Request!;

        var app = await FindAppAsync(request.AppId, ct);
        if (app is null)
            return (GatewayResult.Fail(GatewayError.InvalidArguments(GatewaySubCodes.InvalidAppId, "无效的AppID参数")), method, Signing.None);
        if (!limits.AllowsApp(app.app_id))
            return (GatewayResult.Fail(GatewayLimits.AppCallLimited("应用调用次数超限，包含调用频率超限，请降低请求并发量")), method, Signing.None);
        if (request.VerifySignature(AppKey(app)) is { } signatureError) return (new GatewayResult(signatureError, []), method, Signing.PerRequest);
        if (app.status != "active" || app.merchant_status != MerchantRow.Verified)
            return (GatewayResult.Fail(GatewayError.InsufficientPermissions(GatewaySubCodes.InsufficientIsvPermissions, "商户未通过实名认证或应用不可用")), method, Signing.PerRequest);
        if (method is null)
            return (GatewayResult.Fail(GatewayError.InvalidArguments(GatewaySubCodes.InvalidMethod, "不存在的方法名")), null, Signing.PerRequest);

        // The parser checked the URL's form; where private addresses are not allowed, also where it leads.
        if (request.NotifyUrl is { } notifyUrl && !await notifyUrls.IsAcceptableAsync(notifyUrl, ct))
            return (new GatewayResult(GatewayErrors.InvalidParameter("notify_url 必须指向公网地址"), []), method, Signing.PerRequest);

        var context = new GatewayContext(request, app, clock.GetUtcNow(), options.PublicBaseUrl?.TrimEnd('/') ?? $"{http.Request.Scheme}://{http.Request.Host}");
        try
        {
            return (await methods.InvokeAsync(method, context, ct), method, Signing.PerRequest);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Gateway method {Method} failed for app {AppId}", method, app.app_id);
            return (GatewayResult.Fail(GatewayError.ServiceUnavailable(GatewaySubCodes.UnknownError, "系统繁忙")), method, Signing.PerRequest);
        }
    }

    /// <summary>
    /// The method to answer under when the request failed before its parameters were collected (a repeated key, an
    /// oversize value or body). The SDK verifies only an answer under its method's key and throws on
    /// <c>error_response</c>, so an unambiguous, implemented method name is used when there is one. Only names from our
    /// method table are returned, so nothing else the caller sent is echoed.
    /// </summary>
    private string? MethodHint(IQueryCollection query, IFormCollection form)
    {
        string? found = null;
        foreach (var values in new[] { query["method"], form["method"] })
        {
            if (values.Count == 0) continue;
            if (values.Count > 1 || (found is not null && found != values[0])) return null;
            found = values[0];
        }
        return found is not null && methods.IsKnown(found) ? found : null;
    }

    private RSA AppKey(GatewayApp app) =>
        appKeys.GetOrAdd(app.app_id + "\n" + app.public_key_pem, static (_, pem) => AlipayKeys.ImportPublicKey(pem), app.public_key_pem);

    private async Task<GatewayApp?> FindAppAsync(string appId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<GatewayApp>(new CommandDefinition("""
            SELECT a.app_id, a.merchant_id, a.public_key_pem, a.notify_url, a.status, m.status AS merchant_status, m.fee_bps
            FROM merchant_apps a JOIN merchants m ON m.id = a.merchant_id WHERE a.app_id = @appId
            """, new { appId }, cancellationToken: ct));
    }
}

/// <summary>The gateway's method table: name → handler.</summary>
internal sealed class GatewayMethods(IEnumerable<IGatewayMethod> handlers)
{
    private readonly Dictionary<string, IGatewayMethod> byName = handlers.ToDictionary(h => h.Name, StringComparer.Ordinal);

    public bool IsKnown(string method) => byName.ContainsKey(method);

    public Task<GatewayResult> InvokeAsync(string method, GatewayContext context, CancellationToken ct) => byName[method].InvokeAsync(context, ct);
}

/// <summary>One gateway method, e.g. <c>alipay.trade.precreate</c>.</summary>
internal interface IGatewayMethod
{
    string Name { get; }

    Task<GatewayResult> InvokeAsync(GatewayContext context, CancellationToken ct);
}
