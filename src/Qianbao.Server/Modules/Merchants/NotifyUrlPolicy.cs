using System.Net;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>
/// Where merchants may ask us to send notifications. In sandbox mode anything http(s) goes, so a developer can point
/// at 127.0.0.1. When <c>Qianbao:Gateway:AllowPrivateNotifyUrls</c> is false (the default in production mode) a notify
/// URL must resolve to public addresses only: checked when an app or a request names it, and again on the address
/// each delivery connects to (<see cref="PublicAddresses.ConnectPublicOnlyAsync"/>), so the server cannot be turned
/// against its own network.
/// </summary>
internal sealed class NotifyUrlPolicy(bool allowPrivateAddresses)
{
    public const string AllowPrivateKey = PublicAddresses.AllowPrivateKey;
    public const string ModeKey = PublicAddresses.ModeKey;

    /// <summary>Bound on the name lookup made when a URL is registered.</summary>
    public const int DnsLookupTimeoutMs = 3_000;

    public bool AllowsPrivateAddresses { get; } = allowPrivateAddresses;

    /// <summary>
    /// Reads <see cref="AllowPrivateKey"/>; when unset it is true in <c>sandbox</c> mode (the default) and false in any
    /// other mode, so an unknown mode fails closed. Throws <see cref="InvalidOperationException"/> naming the key for a
    /// value that is not a boolean.
    /// </summary>
    public static NotifyUrlPolicy FromConfiguration(IConfiguration configuration) => new(PublicAddresses.AllowPrivateFrom(configuration));

    /// <summary>
    /// True when <paramref name="url"/> is an acceptable notify URL: absolute http(s) within the length limit and, unless
    /// private addresses are allowed, a host whose every address is public. A name that does not resolve is refused.
    /// </summary>
    public async Task<bool> IsAcceptableAsync(string url, CancellationToken ct)
    {
        if (!NotifyUrls.IsValid(url)) return false;
        if (AllowsPrivateAddresses) return true;
        var host = new Uri(url).Host.Trim('[', ']');
        if (IPAddress.TryParse(host, out var literal)) return PublicAddresses.IsPublic(literal);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(DnsLookupTimeoutMs);
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, timeout.Token);
            return addresses.Length > 0 && addresses.All(PublicAddresses.IsPublic);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ArgumentException
                                      || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return false;
        }
    }
}
