using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// Stateless bearer tokens: <c>qb1.</c> + base64url(user id, expiry) + <c>.</c> + base64url(HMAC-SHA256).
/// No database read per request; the key lives in the database's settings so every server process on
/// one database accepts every other's tokens.
/// </summary>
internal sealed class TokenService(byte[] key, TimeProvider clock, TimeSpan lifetime)
{
    private const string Prefix = "qb1.";

    public TimeSpan Lifetime => lifetime;

    public string Issue(Guid userId)
    {
        Span<byte> payload = stackalloc byte[24];
        userId.TryWriteBytes(payload[..16], bigEndian: true, out _);
        BinaryPrimitives.WriteInt64BigEndian(payload[16..], clock.GetUtcNow().Add(lifetime).ToUnixTimeSeconds());
        var mac = HMACSHA256.HashData(key, payload);
        return Prefix + Base64Url(payload) + "." + Base64Url(mac);
    }

    public TokenCheck Validate(string? token, out Guid userId)
    {
        userId = Guid.Empty;
        if (token is null || !token.StartsWith(Prefix, StringComparison.Ordinal)) return TokenCheck.Invalid;
        var dot = token.IndexOf('.', Prefix.Length);
        if (dot < 0) return TokenCheck.Invalid;
        Span<byte> payload = stackalloc byte[24];
        Span<byte> mac = stackalloc byte[32];
        if (!TryDecode(token.AsSpan(Prefix.Length, dot - Prefix.Length), payload) || !TryDecode(token.AsSpan(dot + 1), mac)) return TokenCheck.Invalid;
        if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(key, payload), mac)) return TokenCheck.Invalid;
        if (BinaryPrimitives.ReadInt64BigEndian(payload[16..]) <= clock.GetUtcNow().ToUnixTimeSeconds()) return TokenCheck.Expired;
        userId = new Guid(payload[..16], bigEndian: true);
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
