using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Qianbao.Server.Consoles.Shared;

/// <summary>
/// Where the console reaches the API: this very process, over loopback, on the first address Kestrel listens on
/// (a wildcard host such as <c>0.0.0.0</c>, <c>[::]</c>, <c>*</c> or <c>+</c> becomes <c>127.0.0.1</c>). Resolved on
/// first use, when the server has started and its addresses (including a port chosen by the OS) are known.
/// </summary>
internal sealed class ConsoleApiAddress(IServer server)
{
    private Uri? resolved;

    public Uri Value => resolved ??= Resolve(server);

    private static Uri Resolve(IServer server)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var first = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
                    ?? addresses.FirstOrDefault()
                    ?? throw new InvalidOperationException("The server listens on no address the console can call.");
        var wildcard = first.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1")
            .Replace("://0.0.0.0", "://127.0.0.1").Replace("://[::]", "://127.0.0.1");
        return new Uri(wildcard.TrimEnd('/') + "/");
    }
}
