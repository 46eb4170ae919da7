using System.Net;
using System.Net.Sockets;

namespace Qianbao.Server.Http;

/// <summary>
/// Which IP addresses count as public Internet destinations for our outbound callbacks (merchant notifications), and
/// a <see cref="SocketsHttpHandler.ConnectCallback"/> that connects only to those. Checking the address actually
/// connected to, not the name, is what defeats DNS rebinding: a name that resolved to a public address when a merchant
/// registered it may resolve to 127.0.0.1 when we deliver.
/// </summary>
internal static class PublicAddresses
{
    /// <summary>
    /// The one switch for every outbound target the server calls on others' say-so or from configuration (merchant
    /// notify URLs, the SMS webhook): whether private, loopback and link-local addresses may be reached. Its name is
    /// older than its reach.
    /// </summary>
    public const string AllowPrivateKey = "Qianbao:Gateway:AllowPrivateNotifyUrls";
    public const string ModeKey = "Qianbao:Mode";

    /// <summary>
    /// Reads <see cref="AllowPrivateKey"/>; when unset it is true in <c>sandbox</c> mode (the default) and false in any
    /// other mode, so an unknown mode fails closed. Throws <see cref="InvalidOperationException"/> naming the key for a
    /// value that is not a boolean.
    /// </summary>
    public static bool AllowPrivateFrom(IConfiguration configuration)
    {
        var text = configuration[AllowPrivateKey];
        if (!string.IsNullOrWhiteSpace(text))
        {
            if (!bool.TryParse(text.Trim(), out var allow))
                throw new InvalidOperationException($"{AllowPrivateKey} must be true or false, not \"{text}\".");
            return allow;
        }
        var mode = configuration[ModeKey];
        return string.IsNullOrWhiteSpace(mode) || mode.Trim().Equals("sandbox", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// False for unspecified, loopback, private (RFC 1918), shared (RFC 6598), link-local, benchmarking, reserved,
    /// broadcast and multicast IPv4 addresses, and for unspecified, loopback, link-local, site-local, unique-local,
    /// discard-only and multicast IPv6 addresses. IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64,
    /// 6to4) are judged by the embedded address.
    /// </summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork) return IsPublicV4(address.GetAddressBytes());
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return false;
        var b = address.GetAddressBytes();
        if (address.IsIPv4MappedToIPv6) return IsPublicV4(b[12..16]);
        if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0) return false; // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
            return IsPublicV4(b[12..16]); // 64:ff9b::/96, NAT64
        if (b[0] == 0x20 && b[1] == 0x02) return IsPublicV4(b[2..6]); // 2002::/16, 6to4
        if (b[0] == 0xff) return false; // ff00::/8 multicast
        if (b[0] == 0xfe && (b[1] & 0xc0) is 0x80 or 0xc0) return false; // fe80::/10 link-local, fec0::/10 site-local
        if ((b[0] & 0xfe) == 0xfc) return false; // fc00::/7 unique local
        if (b[0] == 0x01 && b[1] == 0x00 && b.AsSpan(2, 6).IndexOfAnyExcept((byte)0) < 0) return false; // 100::/64 discard-only
        return true;
    }

    private static bool IsPublicV4(ReadOnlySpan<byte> b) => b switch
    {
        [0, ..] => false, // 0.0.0.0/8, "this network" and unspecified
        [10, ..] => false,
        [127, ..] => false,
        [169, 254, ..] => false,
        [172, >= 16 and <= 31, ..] => false,
        [192, 168, ..] => false,
        [100, >= 64 and <= 127, ..] => false, // shared address space (carrier-grade NAT)
        [192, 0, 0, _] => false, // IETF protocol assignments
        [198, 18 or 19, ..] => false, // benchmarking
        [>= 224, ..] => false, // multicast 224/4, reserved 240/4, broadcast
        _ => true,
    };

    /// <summary>
    /// Resolves the request's host and connects to the first of its public addresses that answers; throws
    /// <see cref="HttpRequestException"/> (which the caller records as a failed attempt) when it has none.
    /// </summary>
    public static async ValueTask<Stream> ConnectPublicOnlyAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var resolved = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        var allowed = resolved.Where(IsPublic).ToArray();
        if (allowed.Length == 0)
            throw new HttpRequestException(HttpRequestError.ConnectionError,
                $"{host} resolves to no public address ({string.Join(", ", resolved.Take(4).Select(a => a.ToString()))}); private addresses are not allowed");
        SocketException? last = null;
        foreach (var address in allowed)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw new HttpRequestException(HttpRequestError.ConnectionError, $"could not connect to {host}: {last?.Message}", last);
    }
}
