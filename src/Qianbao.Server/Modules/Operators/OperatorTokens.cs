using System.Buffers.Binary;
using System.Security.Cryptography;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Operators;

internal enum OperatorTokenCheck { Valid, Invalid, Expired }

/// <summary>
/// Stateless operator access tokens: <c>qbo1.</c> + base64url(operator id, role, expiry) + <c>.</c> + base64url(HMAC-SHA256),
/// under a key of their own in the database's settings (a user token can never pass as an operator's, nor the reverse).
/// No database read per request: a disabled operator's tokens are refused from <see cref="DisabledOperators"/>.
/// </summary>
internal sealed class OperatorTokens(byte[] key, TimeProvider clock, TimeSpan lifetime)
{
    public const string Prefix = "qbo1.";
    private const int PayloadBytes = 32;

    public TimeSpan Lifetime => lifetime;

    public string Issue(Guid operatorId, OperatorRole role)
    {
        Span<byte> payload = stackalloc byte[PayloadBytes];
        payload.Clear();
        operatorId.TryWriteBytes(payload[..16], bigEndian: true, out _);
        BinaryPrimitives.WriteInt64BigEndian(payload[16..24], clock.GetUtcNow().Add(lifetime).ToUnixTimeSeconds());
        payload[24] = (byte)role;
        return Prefix + System.Buffers.Text.Base64Url.EncodeToString(payload) + "." + System.Buffers.Text.Base64Url.EncodeToString(HMACSHA256.HashData(key, payload));
    }

    public OperatorTokenCheck Validate(string token, out OperatorPrincipal principal)
    {
        principal = default;
        if (!token.StartsWith(Prefix, StringComparison.Ordinal)) return OperatorTokenCheck.Invalid;
        var dot = token.IndexOf('.', Prefix.Length);
        if (dot < 0) return OperatorTokenCheck.Invalid;
        Span<byte> payload = stackalloc byte[PayloadBytes];
        Span<byte> mac = stackalloc byte[32];
        if (!TryDecode(token.AsSpan(Prefix.Length, dot - Prefix.Length), payload) || !TryDecode(token.AsSpan(dot + 1), mac)) return OperatorTokenCheck.Invalid;
        if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(key, payload), mac)) return OperatorTokenCheck.Invalid;
        if (!Enum.IsDefined((OperatorRole)payload[24])) return OperatorTokenCheck.Invalid;
        if (BinaryPrimitives.ReadInt64BigEndian(payload[16..24]) <= clock.GetUtcNow().ToUnixTimeSeconds()) return OperatorTokenCheck.Expired;
        principal = new OperatorPrincipal(new Guid(payload[..16], bigEndian: true), (OperatorRole)payload[24]);
        return OperatorTokenCheck.Valid;
    }

    // DecodeFromChars reports malformed base64url as a status (TryDecodeFromChars would throw: a 500 for garbage).
    private static bool TryDecode(ReadOnlySpan<char> text, Span<byte> into) =>
        System.Buffers.Text.Base64Url.DecodeFromChars(text, into, out _, out var written) == System.Buffers.OperationStatus.Done && written == into.Length;
}

/// <summary>
/// Operators disabled while their tokens may still be unexpired, consulted by the access filter without a database read
/// (see <see cref="RevokedIds"/>: the same scheme as Identity's revoked sessions).
/// </summary>
internal sealed class DisabledOperators : RevokedIds;

/// <summary>Keeps <see cref="DisabledOperators"/> current with every process's disables (see <see cref="RevokedIdsWatcher"/>).</summary>
internal sealed class DisabledOperatorWatcher(Db db, DisabledOperators disabled, OperatorTokens tokens, TimeProvider clock, ILogger<DisabledOperatorWatcher> logger)
    : RevokedIdsWatcher(db, disabled, tokens.Lifetime, clock, logger, "disabled operators",
        "SELECT id, disabled_at_us FROM operators WHERE disabled_at_us > @sinceUs");
