using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// Stateless bearer tokens: <c>qb2.</c> + base64url(user id, session id, device first seen, expiry) + <c>.</c> +
/// base64url(HMAC-SHA256). No database read per request (a revoked session is refused by the filter from state kept
/// current in memory); the key lives in the database's settings so every server process on one database accepts
/// every other's tokens.
/// </summary>
internal sealed class TokenService(byte[] key, TimeProvider clock, TimeSpan lifetime)
{
    private const string Prefix = "qb2.";
    private const int PayloadBytes = 56;

    public TimeSpan Lifetime => lifetime;

    public string Issue(UserSession session)
    {
        Span<byte> payload = stackalloc byte[PayloadBytes];
        session.UserId.TryWriteBytes(payload[..16], bigEndian: true, out _);
        session.SessionId.TryWriteBytes(payload[16..32], bigEndian: true, out _);
        BinaryPrimitives.WriteInt64BigEndian(payload[32..40], session.DeviceFirstSeenAtUnixSeconds);
        BinaryPrimitives.WriteInt64BigEndian(payload[40..48], clock.GetUtcNow().Add(lifetime).ToUnixTimeSeconds());
        BinaryPrimitives.WriteInt64BigEndian(payload[48..], 0); // reserved
        var mac = HMACSHA256.HashData(key, payload);
        return Prefix + Base64Url(payload) + "." + Base64Url(mac);
    }

    public TokenCheck Validate(string? token, out UserSession session)
    {
        session = default;
        if (token is null || !token.StartsWith(Prefix, StringComparison.Ordinal)) return TokenCheck.Invalid;
        var dot = token.IndexOf('.', Prefix.Length);
        if (dot < 0) return TokenCheck.Invalid;
        Span<byte> payload = stackalloc byte[PayloadBytes];
        Span<byte> mac = stackalloc byte[32];
        if (!TryDecode(token.AsSpan(Prefix.Length, dot - Prefix.Length), payload) || !TryDecode(token.AsSpan(dot + 1), mac)) return TokenCheck.Invalid;
        if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(key, payload), mac)) return TokenCheck.Invalid;
        if (BinaryPrimitives.ReadInt64BigEndian(payload[40..48]) <= clock.GetUtcNow().ToUnixTimeSeconds()) return TokenCheck.Expired;
        session = new UserSession(new Guid(payload[..16], bigEndian: true), new Guid(payload[16..32], bigEndian: true),
            BinaryPrimitives.ReadInt64BigEndian(payload[32..40]));
        return TokenCheck.Valid;
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    // DecodeFromChars reports malformed base64url as a status; TryDecodeFromChars would throw FormatException,
    // turning a caller's garbage token into a 500.
    private static bool TryDecode(ReadOnlySpan<char> text, Span<byte> into) =>
        System.Buffers.Text.Base64Url.DecodeFromChars(text, into, out _, out var written) == System.Buffers.OperationStatus.Done
        && written == into.Length;
}

internal enum TokenCheck { Valid, Invalid, Expired }
