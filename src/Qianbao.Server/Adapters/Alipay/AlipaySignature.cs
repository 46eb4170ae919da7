using System.Security.Cryptography;
using System.Text;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// The Alipay OpenAPI v2 signing rules: how the string-to-sign is built and how it is signed and verified.
/// Pure functions over strings and keys; no I/O.
/// </summary>
internal static class AlipaySignature
{
    /// <summary>
    /// A Base64 RSA signature for keys up to 8192 bits is at most 1368 characters; anything longer is not a
    /// signature and is rejected before decoding so a hostile value cannot make us allocate.
    /// </summary>
    public const int SignatureBase64LengthMax = 1368;

    /// <summary>
    /// The string-to-sign of a gateway request: every parameter except <c>sign</c>, parameters with empty values
    /// dropped, keys in ordinal order, <c>k=v</c> joined with <c>&amp;</c>, raw (decoded, not URL-encoded) values.
    /// <c>sign_type</c> is included, as Alipay's gateway does.
    /// </summary>
    public static string BuildRequestSignContent(IEnumerable<KeyValuePair<string, string>> parameters) =>
        BuildSignContent(parameters, excludeSignType: false);

    /// <summary>
    /// The string-to-sign of an asynchronous notification: every field except <c>sign</c> and <c>sign_type</c>,
    /// empty values dropped, keys in ordinal order, <c>k=v</c> joined with <c>&amp;</c>, raw values.
    /// </summary>
    public static string BuildNotifySignContent(IEnumerable<KeyValuePair<string, string>> fields) =>
        BuildSignContent(fields, excludeSignType: true);

    /// <summary>Signs the UTF-8 bytes of <paramref name="content"/> and returns the Base64 signature.</summary>
    public static string Sign(string content, RSA privateKey, AlipaySignType signType = AlipaySignType.Rsa2)
    {
        ArgumentNullException.ThrowIfNull(content);
        return Sign(Encoding.UTF8.GetBytes(content), privateKey, signType);
    }

    /// <summary>Signs <paramref name="content"/> exactly as given and returns the Base64 signature.</summary>
    public static string Sign(ReadOnlySpan<byte> content, RSA privateKey, AlipaySignType signType = AlipaySignType.Rsa2)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        var signature = privateKey.SignData(content, HashOf(signType), RSASignaturePadding.Pkcs1);
        return Convert.ToBase64String(signature);
    }

    /// <summary>
    /// Verifies a Base64 signature over the UTF-8 bytes of <paramref name="content"/>. Returns false, never throws,
    /// for a missing, over-long or malformed Base64 signature, or one made with another key.
    /// </summary>
    public static bool Verify(string content, string? signatureBase64, RSA publicKey,
        AlipaySignType signType = AlipaySignType.Rsa2)
    {
        ArgumentNullException.ThrowIfNull(content);
        return Verify(Encoding.UTF8.GetBytes(content), signatureBase64, publicKey, signType);
    }

    /// <summary>Verifies a Base64 signature over <paramref name="content"/> exactly as given; never throws on bad input.</summary>
    public static bool Verify(ReadOnlySpan<byte> content, string? signatureBase64, RSA publicKey,
        AlipaySignType signType = AlipaySignType.Rsa2)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        if (string.IsNullOrEmpty(signatureBase64) || signatureBase64.Length > SignatureBase64LengthMax)
        {
            return false;
        }

        var signature = new byte[signatureBase64.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(signatureBase64, signature, out var length))
        {
            return false;
        }

        try
        {
            return publicKey.VerifyData(content, signature.AsSpan(0, length), HashOf(signType),
                RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException)
        {
            // OpenSSL reports some wrong-length signatures as errors rather than a false result; to a caller both
            // mean "not signed by this key".
            return false;
        }
    }

    private static HashAlgorithmName HashOf(AlipaySignType signType) => signType switch
    {
        AlipaySignType.Rsa2 => HashAlgorithmName.SHA256,
        AlipaySignType.Rsa => HashAlgorithmName.SHA1,
        _ => throw new ArgumentOutOfRangeException(nameof(signType), signType, "Unknown sign type."),
    };

    private static string BuildSignContent(IEnumerable<KeyValuePair<string, string>> parameters, bool excludeSignType)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var included = new List<KeyValuePair<string, string>>();
        foreach (var pair in parameters)
        {
            if (string.IsNullOrEmpty(pair.Value) || pair.Key == "sign" || (excludeSignType && pair.Key == "sign_type"))
            {
                continue;
            }

            included.Add(pair);
        }

        // Ordinal (UTF-16 code unit) order is what the SDK's Array.prototype.sort produces and, for the ASCII keys
        // the protocol uses, equals byte order.
        included.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));

        var builder = new StringBuilder();
        foreach (var pair in included)
        {
            if (builder.Length > 0)
            {
                builder.Append('&');
            }

            builder.Append(pair.Key).Append('=').Append(pair.Value);
        }

        return builder.ToString();
    }
}
