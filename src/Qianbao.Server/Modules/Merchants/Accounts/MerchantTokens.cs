using System.Buffers.Binary;
using System.Security.Cryptography;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Merchants.Accounts;

internal enum MerchantTokenCheck { Valid, Invalid, Expired }

/// <summary>
/// Stateless merchant staff access tokens: <c>qbm1.</c> + base64url(staff id, merchant id, expiry, role) + <c>.</c> +
/// base64url(HMAC-SHA256) under a key of their own (<c>merchant_token_key</c> in the database's settings), the same scheme
/// as operators' <c>qbo1.</c> tokens: a user's or an operator's token never passes as a merchant's, nor the reverse. A
/// disabled staff member's tokens are refused from <see cref="DisabledMerchantStaff"/> without a database read.
/// </summary>
internal sealed class MerchantTokens(byte[] key, TimeProvider clock, TimeSpan lifetime)
{
    public const string Prefix = "qbm1.";
    private const int PayloadBytes = 48;

    public TimeSpan Lifetime => lifetime;

    public string Issue(MerchantPrincipal principal)
    {
        Span<byte> payload = stackalloc byte[PayloadBytes];
        payload.Clear();
        principal.StaffId.TryWriteBytes(payload[..16], bigEndian: true, out _);
        principal.MerchantId.TryWriteBytes(payload[16..32], bigEndian: true, out _);
        BinaryPrimitives.WriteInt64BigEndian(payload[32..40], clock.GetUtcNow().Add(lifetime).ToUnixTimeSeconds());
        payload[40] = (byte)principal.Role;
        return Prefix + System.Buffers.Text.Base64Url.EncodeToString(payload) + "." + System.Buffers.Text.Base64Url.EncodeToString(HMACSHA256.HashData(key, payload));
    }

    public MerchantTokenCheck Validate(string token, out MerchantPrincipal principal)
    {
        principal = default;
        if (!token.StartsWith(Prefix, StringComparison.Ordinal)) return MerchantTokenCheck.Invalid;
        var dot = token.IndexOf('.', Prefix.Length);
        if (dot < 0) return MerchantTokenCheck.Invalid;
        Span<byte> payload = stackalloc byte[PayloadBytes];
        Span<byte> mac = stackalloc byte[32];
        if (!TryDecode(token.AsSpan(Prefix.Length, dot - Prefix.Length), payload) || !TryDecode(token.AsSpan(dot + 1), mac)) return MerchantTokenCheck.Invalid;
        if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(key, payload), mac)) return MerchantTokenCheck.Invalid;
        if (!Enum.IsDefined((MerchantRole)payload[40])) return MerchantTokenCheck.Invalid;
        if (BinaryPrimitives.ReadInt64BigEndian(payload[32..40]) <= clock.GetUtcNow().ToUnixTimeSeconds()) return MerchantTokenCheck.Expired;
        principal = new MerchantPrincipal(new Guid(payload[..16], bigEndian: true), new Guid(payload[16..32], bigEndian: true), (MerchantRole)payload[40]);
        return MerchantTokenCheck.Valid;
    }

    // DecodeFromChars reports malformed base64url as a status (TryDecodeFromChars would throw: a 500 for garbage).
    private static bool TryDecode(ReadOnlySpan<char> text, Span<byte> into) =>
        System.Buffers.Text.Base64Url.DecodeFromChars(text, into, out _, out var written) == System.Buffers.OperationStatus.Done && written == into.Length;
}

/// <summary>Staff members disabled while their tokens may still be unexpired (see <see cref="RevokedIds"/>).</summary>
internal sealed class DisabledMerchantStaff : RevokedIds;

/// <summary>Keeps <see cref="DisabledMerchantStaff"/> current with every process's disables (see <see cref="RevokedIdsWatcher"/>).</summary>
internal sealed class DisabledMerchantStaffWatcher(Db db, DisabledMerchantStaff disabled, MerchantTokens tokens, TimeProvider clock,
    ILogger<DisabledMerchantStaffWatcher> logger)
    : RevokedIdsWatcher(db, disabled, tokens.Lifetime, clock, logger, "disabled merchant staff",
        "SELECT id, disabled_at_us FROM merchant_staff WHERE disabled_at_us > @sinceUs");
