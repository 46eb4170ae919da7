using System.Reflection;
using System.Security.Cryptography;

namespace Qianbao.Server.Consoles.Shared;

/// <summary>
/// The consoles' style sheet and scripts, embedded in the server assembly (Consoles/Assets) and served at
/// <c>/assets/{name}</c> by Qianbao itself, with a content hash as ETag, so no page depends on a CDN or on files beside
/// the binary.
/// </summary>
internal static class ConsoleAssets
{
    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);

    private static readonly Lazy<IReadOnlyDictionary<string, Asset>> All = new(Load);

    public static IEnumerable<string> Names => All.Value.Keys;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/assets/{name}", (string name, HttpContext http) =>
        {
            if (!All.Value.TryGetValue(name, out var asset)) return Results.NotFound();
            http.Response.Headers.ETag = asset.ETag;
            http.Response.Headers.CacheControl = "public, max-age=3600";
            if (http.Request.Headers.IfNoneMatch.ToString() == asset.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
            return Results.Bytes(asset.Bytes, asset.ContentType);
        }).ExcludeFromDescription();

    private static IReadOnlyDictionary<string, Asset> Load()
    {
        const string prefix = "Qianbao.Server.Consoles.Assets.";
        var assembly = Assembly.GetExecutingAssembly();
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var name = resource[prefix.Length..];
            assets[name] = new Asset(bytes, ContentTypeOf(name), "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"");
        }
        return assets;
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };
}
