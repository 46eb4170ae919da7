using System.ComponentModel.DataAnnotations;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Acquiring;

namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary><c>alipay.trade.precreate</c>: a trade the buyer pays by scanning <c>qr_code</c> in the wallet (<c>POST /v1/qr-payments</c>).</summary>
internal sealed class Precreate(TradeCreation creation, GatewayOptions options) : IGatewayMethod
{
    public string Name => "alipay.trade.precreate";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        var (trade, error) = await TradeRequests.CreateAsync(creation, c, "precreate", null, options.QrBaseUrl, ct);
        if (error is not null) return error.Value;
        if (trade!.kind != "precreate" || trade.status != TradeStatus.WaitBuyerPay)
            return GatewayResult.Business(trade.status == TradeStatus.WaitBuyerPay ? GatewaySubCodes.ContextInconsistent : GatewaySubCodes.TradeHasSuccess,
                "交易已存在", Field.Of("out_trade_no", trade.out_trade_no));
        return GatewayResult.Success(Field.Of("out_trade_no", trade.out_trade_no), Field.Of("qr_code", trade.qr_code));
    }
}

/// <summary>Settings of the gateway (configuration section <c>Qianbao:Gateway</c>).</summary>
internal sealed class GatewayOptions : IOptionsRules
{
    /// <summary>Prefix of the QR code text a precreated trade returns; the wallet app recognises it when scanning.</summary>
    public string QrBaseUrl { get; set; } = "https://qr.qianbao.dev/p/";

    /// <summary>Where the platform's gateway signing keys live; default &lt;DataDir&gt;/platform-keys. Share it between processes.</summary>
    public string? PlatformKeyDir { get; set; }

    /// <summary>
    /// The public address merchants reach this deployment at (e.g. <c>https://pay.example.com</c>), used in bill URLs.
    /// When unset, the request's own scheme and host are used, which is only right without a proxy in front.
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>How long a bill download URL stays valid, in seconds (60..86400).</summary>
    [Range(60, 86_400)]
    public int BillUrlLifetimeSeconds { get; set; } = 1800;

    /// <summary>
    /// Most that <c>alipay.trade.order.settle</c> may move over all settlements of a trade, in basis points of its paid
    /// amount (0..10000; 3000 = 30 %).
    /// </summary>
    [Range(0, 10_000)]
    public int RoyaltyMaxBps { get; set; } = 3000;

    /// <summary>
    /// Most gateway requests per second per app (1..1000000), in this process: a token bucket holding one second's worth,
    /// checked once the app is found and before its signature is verified. Several processes each allow this many.
    /// </summary>
    [Range(1, 1_000_000)]
    public int RequestsPerSecondMax { get; set; } = 200;

    /// <summary>
    /// Most gateway requests per second per client address (1..1000000), in this process: checked first, before the request
    /// is read. Above the per-app default, so one merchant server behind one address is limited by its app's budget.
    /// </summary>
    [Range(1, 1_000_000)]
    public int RequestsPerSecondPerAddressMax { get; set; } = 400;

    IEnumerable<(string Property, string Problem)> IOptionsRules.Problems()
    {
        if (!IsHttpUrl(QrBaseUrl)) yield return (nameof(QrBaseUrl), $"must be an absolute http(s) URL (was '{QrBaseUrl}')");
        if (PublicBaseUrl is not null && !IsHttpUrl(PublicBaseUrl)) yield return (nameof(PublicBaseUrl), $"must be an absolute http(s) URL (was '{PublicBaseUrl}')");
        if (PlatformKeyDir is not null && PlatformKeyDir.Trim().Length == 0) yield return (nameof(PlatformKeyDir), "must be a directory path (was blank)");
    }

    private static bool IsHttpUrl(string? text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
