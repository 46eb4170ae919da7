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
/// merchant status checks, then the method. The answer is always HTTP 200 with a body signed by the
/// platform key, as Alipay's is; failures carry code/sub_code.
/// </summary>
internal sealed class GatewayEndpoint(Db db, PlatformKeyRing keys, GatewayMethods methods, GatewayOptions options, TimeProvider clock,
    Modules.Merchants.NotifyUrlPolicy notifyUrls, ILogger<GatewayEndpoint> logger)
{
    public const int BodyBytesMax = 64 * 1024;
    private readonly ConcurrentDictionary<string, RSA> appKeys = new(StringComparer.Ordinal);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/gateway.do", (HttpContext http, GatewayEndpoint endpoint, CancellationToken ct) => endpoint.HandleAsync(http, ct))
            .WithTags("Gateway").DisableAntiforgery();

    private async Task<IResult> HandleAsync(HttpContext http, CancellationToken ct)
    {
        var writer = new GatewayResponseWriter(keys.Current.PrivateKey);
        var (result, method) = await ExecuteAsync(http, ct);
        var body = result.Error is { } error ? writer.WriteError(method, error, result.Fields) : writer.WriteSuccess(method!, result.Fields);
        return Results.Bytes(body, "application/json; charset=utf-8");
    }

    private async Task<(GatewayResult Result, string? Method)> ExecuteAsync(HttpContext http, CancellationToken ct)
    {
        if (http.Request.ContentLength > BodyBytesMax)
            return (GatewayResult.InvalidParameter("请求体过大"), MethodHint(http.Request.Query, FormCollection.Empty));
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
                return (GatewayResult.InvalidParameter("请求体不合法"), null);
            }
        }

        var parsed = GatewayRequest.Parse(http.Request.Query, form, clock);
        var method = (parsed.Method ?? MethodHint(http.Request.Query, form)) is { } m && methods.IsKnown(m) ? m : null;
        if (!parsed.IsSuccess) return (new GatewayResult(parsed.Error, []), method);
        var request = parsed.Request!;

        var app = await FindAppAsync(request.AppId, ct);
        if (app is null)
            return (GatewayResult.Fail(GatewayError.InvalidArguments(GatewaySubCodes.InvalidAppId, "无效的AppID参数")), method);
        if (request.VerifySignature(AppKey(app)) is { } signatureError) return (new GatewayResult(signatureError, []), method);
        if (app.status != "active" || app.merchant_status != MerchantRow.Verified)
            return (GatewayResult.Fail(GatewayError.InsufficientPermissions(GatewaySubCodes.InsufficientIsvPermissions, "商户未通过实名认证或应用不可用")), method);
        if (method is null)
            return (GatewayResult.Fail(GatewayError.InvalidArguments(GatewaySubCodes.InvalidMethod, "不存在的方法名")), null);

        // The parser checked the URL's form; where private addresses are not allowed, also where it leads.
        if (request.NotifyUrl is { } notifyUrl && !await notifyUrls.IsAcceptableAsync(notifyUrl, ct))
            return (new GatewayResult(GatewayErrors.InvalidParameter("notify_url 必须指向公网地址"), []), method);

        var context = new GatewayContext(request, app, clock.GetUtcNow(), options.PublicBaseUrl?.TrimEnd('/') ?? $"{http.Request.Scheme}://{http.Request.Host}");
        try
        {
            return (await methods.InvokeAsync(method, context, ct), method);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Gateway method {Method} failed for app {AppId}", method, app.app_id);
            return (GatewayResult.Fail(GatewayError.ServiceUnavailable(GatewaySubCodes.UnknownError, "系统繁忙")), method);
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
