using System.Text.Json;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>An authenticated gateway call: the verified request, the calling app and its merchant, and the time it arrived.</summary>
internal sealed record GatewayContext(GatewayRequest Request, GatewayApp App, DateTimeOffset Now, string BaseUrl)
{
    public JsonElement Biz => Request.BizContent ?? EmptyObject;

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;
}

/// <summary>A merchant's gateway app as stored, with the merchant's status and fee.</summary>
internal sealed class GatewayApp
{
    public string app_id { get; init; } = "";
    public Guid merchant_id { get; init; }
    public string public_key_pem { get; init; } = "";
    public string? notify_url { get; init; }
    public string status { get; init; } = "";
    public string merchant_status { get; init; } = "";
    public int fee_bps { get; init; }
}
