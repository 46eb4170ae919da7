using System.Security.Cryptography;
using System.Text;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// Server-side keys for keyed hashes of short secrets and identifiers (verification codes, payment PINs, resident ID
/// and card numbers), derived with HKDF from one random secret kept in the database's settings, so every server
/// process on one database derives the same keys. A keyed hash of a 6-digit secret cannot be brute-forced from a
/// stolen database without the key; a slow KDF could not protect it either (10^6 guesses are cheap at any cost),
/// which is why the online lockouts, not the hash, are the protection.
/// </summary>
internal sealed class IdentityKeys(byte[] secret)
{
    public byte[] VerificationCodes { get; } = Derive(secret, "verification-codes");
    public byte[] PaymentPins { get; } = Derive(secret, "payment-pins");
    public byte[] IdentityNumbers { get; } = Derive(secret, "identity-numbers");
    public byte[] CardNumbers { get; } = Derive(secret, "card-numbers");
    public byte[] RefreshTokens { get; } = Derive(secret, "refresh-tokens");
    public byte[] UnsubscribeLinks { get; } = Derive(secret, "unsubscribe-links");
    public byte[] TrackingLinks { get; } = Derive(secret, "tracking-links");

    /// <summary>Lowercase hex HMAC-SHA256 of <paramref name="parts"/> joined by <c>|</c>.</summary>
    public static string Hash(byte[] key, params string[] parts) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(string.Join('|', parts))));

    /// <summary>Compares two hashes from <see cref="Hash"/> in constant time.</summary>
    public static bool Same(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

    private static byte[] Derive(byte[] secret, string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, info: Encoding.UTF8.GetBytes("qianbao/" + purpose));
}
