using System.Buffers.Text;
using System.Data.Common;
using System.Net;
using System.Security.Cryptography;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// One-click opt-out links: <c>{PublicBaseUrl}/u/{token}</c>, where the token is the person and the channel with an
/// HMAC-SHA256 under a server key (derived from the identity secret), so it needs no login and cannot be made up for
/// someone else. It does not expire: an old mail's link must still work (RFC 8058 asks for that).
/// </summary>
internal sealed class UnsubscribeLinks(IdentityKeys keys, QianbaoOptions options)
{
    private const int MacBytes = 16;
    private const int PayloadBytes = 17;

    /// <summary>The opt-out URL for a person's marketing on a channel, or null when no public address is configured.</summary>
    public string? Url(Guid userId, NotificationChannel channel) =>
        options.PublicBaseUrl is { } b ? $"{b.TrimEnd('/')}/u/{Token(userId, channel)}" : null;

    public string Token(Guid userId, NotificationChannel channel)
    {
        Span<byte> bytes = stackalloc byte[PayloadBytes + MacBytes];
        userId.TryWriteBytes(bytes[..16]);
        bytes[16] = (byte)channel;
        HMACSHA256.HashData(keys.UnsubscribeLinks, bytes[..PayloadBytes])[..MacBytes].CopyTo(bytes[PayloadBytes..]);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>The person and channel a token names, or null when it is not one this server signed.</summary>
    public (Guid UserId, NotificationChannel Channel)? Open(string? token)
    {
        if (token is not { Length: > 0 and < 100 }) return null;
        Span<byte> bytes = stackalloc byte[64];
        if (!Base64Url.IsValid(token) || !Base64Url.TryDecodeFromChars(token, bytes, out var written) || written != PayloadBytes + MacBytes) return null;
        var mac = HMACSHA256.HashData(keys.UnsubscribeLinks, bytes[..PayloadBytes]).AsSpan(0, MacBytes);
        if (!CryptographicOperations.FixedTimeEquals(mac, bytes.Slice(PayloadBytes, MacBytes))) return null;
        var channel = (NotificationChannel)bytes[16];
        if (channel is not (NotificationChannel.Sms or NotificationChannel.Email)) return null;
        return (new Guid(bytes[..16]), channel);
    }

    /// <summary>
    /// Withdraws the person's marketing consent on the channel: the switch goes off and a consent record with source
    /// <c>unsubscribe</c> is written, in one transaction. Idempotent: when it is off already nothing is written.
    /// </summary>
    public static async Task<bool> WithdrawAsync(DbConnection connection, DbTransaction tx, Guid userId, NotificationChannel channel, long nowUs,
        DateTimeOffset now, CancellationToken ct)
    {
        var settings = await NotificationSettings.ReadAsync(connection, tx, userId, ct);
        var p = settings.Preferences;
        if (!NotificationPreferences.Has(p.MarketingChannels, channel)) return false;
        await NotificationSettings.WriteAsync(connection, tx, userId, p with { MarketingChannels = p.MarketingChannels & ~(1 << (int)channel) },
            settings.Locale, nowUs, ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO notification_consents (id, user_id, channel, status, at_us, source, text_version)
            VALUES (@id, @userId, @channel, @status, @nowUs, 'unsubscribe', @version)
            """, new
        {
            id = Guid.CreateVersion7(now), userId, channel = (short)channel, status = (short)ConsentStatus.Withdrawn, nowUs,
            version = NotificationPreferencesApi.ConsentTextVersion,
        }, tx, cancellationToken: ct));
        return true;
    }
}

/// <summary>
/// <c>POST /u/{token}</c> (no login; the signed token is the authority): withdraws the marketing consent of the token's
/// channel, idempotent. It is the target of e-mail's <c>List-Unsubscribe</c> with <c>List-Unsubscribe-Post:
/// List-Unsubscribe=One-Click</c> (RFC 8058: the mail client POSTs <c>List-Unsubscribe=One-Click</c>; the body is not
/// needed) and of the link at the end of marketing SMS. <c>GET /u/{token}</c> only shows a page with the button that
/// POSTs, since link scanners fetch URLs in mail and SMS and must not unsubscribe anyone. A token this server did not
/// sign, or of a person who no longer exists, is 404.
/// </summary>
internal static class Unsubscribe
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/u/{token}", PageAsync).WithTags("Notifications").ExcludeFromDescription();
        app.MapPost("/u/{token}", PostAsync).WithTags("Notifications").DisableAntiforgery();
    }

    private static IResult PageAsync(string token, UnsubscribeLinks links)
    {
        if (links.Open(token) is not { } who) return ApiProblem.NotFound("No such unsubscribe link.");
        var channel = who.Channel == NotificationChannel.Email ? "e-mail / 邮件" : "SMS / 短信";
        var html = $"""
            <!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Unsubscribe</title></head><body>
            <p>退订钱包营销{WebUtility.HtmlEncode(channel)} · Stop Qianbao offers by {WebUtility.HtmlEncode(channel)}</p>
            <form method="post" action="/u/{WebUtility.HtmlEncode(token)}"><input type="hidden" name="List-Unsubscribe" value="One-Click">
            <button type="submit">退订 / Unsubscribe</button></form></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8");
    }

    private static async Task<IResult> PostAsync(string token, UnsubscribeLinks links, Db db, UserDirectory users, TimeProvider clock, CancellationToken ct)
    {
        if (links.Open(token) is not { } who) return ApiProblem.NotFound("No such unsubscribe link.");
        var now = clock.GetUtcNow();
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        if (await users.ContactAsync(connection, tx, who.UserId, ct) is null) return ApiProblem.NotFound("No such unsubscribe link.");
        var withdrawn = await UnsubscribeLinks.WithdrawAsync(connection, tx, who.UserId, who.Channel, now.ToUnixMicroseconds(), now, ct);
        await tx.CommitAsync(ct);
        return Results.Json(new { channel = NotificationPreferencesApi.ChannelName(who.Channel), status = "withdrawn", changed = withdrawn }, JsonDefaults.Options);
    }
}
