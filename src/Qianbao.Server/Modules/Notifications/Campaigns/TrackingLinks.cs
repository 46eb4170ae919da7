using System.Security.Cryptography;
using Dapper;
using Microsoft.AspNetCore.WebUtilities;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>
/// E-mail tracking: <c>GET /t/o/{token}</c> (the open pixel: records an open, answers a 1×1 GIF) and <c>GET /t/c/{token}</c>
/// (records a click and an open, redirects 302 to the notification's own <c>open_url</c> action, validated https when
/// the campaign was created: the token carries no URL, so the endpoint cannot be made to redirect anywhere else). A
/// token is the kind and the notification id, signed with HMAC-SHA256 under a key derived from the server's secret
/// (128-bit tag); a token that does not verify, or a notification without a link, is 404 and records nothing. The
/// e-mail channel puts <see cref="OpenUrl"/> and <see cref="ClickUrl"/> into marketing mail.
/// </summary>
internal sealed class TrackingLinks(IdentityKeys keys)
{
    private const int TagBytes = 16;

    public enum Kind : byte { Open = (byte)'o', Click = (byte)'c' }

    private static readonly byte[] Pixel = Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

    public string Token(Kind kind, Guid notificationId)
    {
        var payload = new byte[17];
        payload[0] = (byte)kind;
        notificationId.TryWriteBytes(payload.AsSpan(1));
        return WebEncoders.Base64UrlEncode(payload) + "." + WebEncoders.Base64UrlEncode(Tag(payload));
    }

    public string OpenUrl(string publicBaseUrl, Guid notificationId) => publicBaseUrl.TrimEnd('/') + "/t/o/" + Token(Kind.Open, notificationId);

    public string ClickUrl(string publicBaseUrl, Guid notificationId) => publicBaseUrl.TrimEnd('/') + "/t/c/" + Token(Kind.Click, notificationId);

    /// <summary>The notification id of a token of <paramref name="kind"/> whose tag verifies; null otherwise.</summary>
    public Guid? Verify(Kind kind, string token)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || token.Length > 100) return null;
        byte[] payload, tag;
        try
        {
            payload = WebEncoders.Base64UrlDecode(token[..dot]);
            tag = WebEncoders.Base64UrlDecode(token[(dot + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
        if (payload.Length != 17 || payload[0] != (byte)kind || tag.Length != TagBytes) return null;
        if (!CryptographicOperations.FixedTimeEquals(tag, Tag(payload))) return null;
        return new Guid(payload.AsSpan(1));
    }

    private byte[] Tag(byte[] payload) => HMACSHA256.HashData(keys.TrackingLinks, payload)[..TagBytes];

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/t/o/{token}", OpenAsync).WithTags("Notifications");
        app.MapGet("/t/c/{token}", ClickAsync).WithTags("Notifications");
    }

    private static async Task<IResult> OpenAsync(string token, TrackingLinks links, Db db, TimeProvider clock, CancellationToken ct)
    {
        if (links.Verify(Kind.Open, token) is not { } id) return ApiProblem.NotFound("No such link.");
        await using var connection = await db.OpenAsync(ct);
        var found = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE notifications SET read_at_us = COALESCE(read_at_us, @nowUs) WHERE id = @id",
            new { id, nowUs = clock.GetUnixMicroseconds() }, cancellationToken: ct));
        return found == 0 ? ApiProblem.NotFound("No such link.") : Results.File(Pixel, "image/gif");
    }

    private static async Task<IResult> ClickAsync(string token, TrackingLinks links, Db db, TimeProvider clock, CancellationToken ct)
    {
        if (links.Verify(Kind.Click, token) is not { } id) return ApiProblem.NotFound("No such link.");
        await using var connection = await db.OpenAsync(ct);
        var action = await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition("SELECT action FROM notifications WHERE id = @id",
            new { id }, cancellationToken: ct));
        var parsed = action is null ? null : System.Text.Json.JsonSerializer.Deserialize<NotificationAction>(action, JsonDefaults.Options);
        if (parsed is not { Type: "open_url", Url: { } url } || !Uri.TryCreate(url, UriKind.Absolute, out var target) || target.Scheme != Uri.UriSchemeHttps)
            return ApiProblem.NotFound("No such link.");
        var nowUs = clock.GetUnixMicroseconds();
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE notifications SET clicked_at_us = COALESCE(clicked_at_us, @nowUs), read_at_us = COALESCE(read_at_us, @nowUs) WHERE id = @id",
            new { id, nowUs }, cancellationToken: ct));
        return Results.Redirect(target.AbsoluteUri);
    }
}
