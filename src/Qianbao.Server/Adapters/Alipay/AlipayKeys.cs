using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// Loads and exports RSA keys in the shapes the Alipay ecosystem passes around: PEM with any of the labels
/// <c>RSA PRIVATE KEY</c> (PKCS#1), <c>PRIVATE KEY</c> (PKCS#8), <c>RSA PUBLIC KEY</c> (PKCS#1),
/// <c>PUBLIC KEY</c> (X.509 SubjectPublicKeyInfo), and bare Base64 bodies without PEM armour, which is how
/// Alipay's console and key tool hand keys out and how the SDK accepts them.
/// </summary>
internal static class AlipayKeys
{
    /// <summary>Smallest accepted modulus; Alipay requires 2048-bit keys for RSA2.</summary>
    public const int KeySizeMinBits = 2048;

    /// <summary>Largest accepted modulus; bounds the cost of verifying a hostile caller's key.</summary>
    public const int KeySizeMaxBits = 4096;

    /// <summary>Longest accepted key text; a 4096-bit PKCS#8 PEM is about 3.3 KB.</summary>
    public const int KeyTextLengthMax = 16 * 1024;

    /// <summary>
    /// Imports a private key from PEM (PKCS#1 or PKCS#8) or a bare Base64 body of either. Returns false, without
    /// throwing, for anything else, including keys outside 2048..4096 bits.
    /// </summary>
    public static bool TryImportPrivateKey(string? text, [NotNullWhen(true)] out RSA? key) =>
        TryImport(text, isPrivate: true, out key);

    /// <summary>
    /// Imports a public key from PEM (SubjectPublicKeyInfo or PKCS#1) or a bare Base64 body of either. Returns
    /// false, without throwing, for anything else, including keys outside 2048..4096 bits.
    /// </summary>
    public static bool TryImportPublicKey(string? text, [NotNullWhen(true)] out RSA? key) =>
        TryImport(text, isPrivate: false, out key);

    /// <summary>Like <see cref="TryImportPrivateKey"/> but throws <see cref="FormatException"/> on failure.</summary>
    public static RSA ImportPrivateKey(string text) =>
        TryImportPrivateKey(text, out var key) ? key : throw new FormatException("Not an RSA private key of 2048..4096 bits.");

    /// <summary>Like <see cref="TryImportPublicKey"/> but throws <see cref="FormatException"/> on failure.</summary>
    public static RSA ImportPublicKey(string text) =>
        TryImportPublicKey(text, out var key) ? key : throw new FormatException("Not an RSA public key of 2048..4096 bits.");

    /// <summary>
    /// The public key as bare Base64 of the SubjectPublicKeyInfo DER: the form merchants paste into the SDK's
    /// <c>alipayPublicKey</c>. The SDK wraps whatever it gets in <c>-----BEGIN PUBLIC KEY-----</c>, so a PKCS#1
    /// body would not load there.
    /// </summary>
    public static string ExportPublicKeyBase64(RSA key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());
    }

    /// <summary>The public key as a <c>PUBLIC KEY</c> (SubjectPublicKeyInfo) PEM.</summary>
    public static string ExportPublicKeyPem(RSA key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.ExportSubjectPublicKeyInfoPem();
    }

    /// <summary>
    /// The private key as bare Base64 of the PKCS#1 DER: the SDK's default <c>privateKey</c> form
    /// (<c>keyType</c> PKCS1). Used to provision test merchants.
    /// </summary>
    public static string ExportPrivateKeyPkcs1Base64(RSA key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToBase64String(key.ExportRSAPrivateKey());
    }

    private static bool TryImport(string? text, bool isPrivate, [NotNullWhen(true)] out RSA? key)
    {
        key = null;
        if (string.IsNullOrWhiteSpace(text) || text.Length > KeyTextLengthMax)
        {
            return false;
        }

        var rsa = RSA.Create();
        try
        {
            var loaded = text.Contains("-----BEGIN", StringComparison.Ordinal)
                ? TryImportPem(rsa, text, isPrivate)
                : TryImportBareBase64(rsa, text, isPrivate);
            if (loaded && rsa.KeySize is >= KeySizeMinBits and <= KeySizeMaxBits)
            {
                key = rsa;
                return true;
            }
        }
        catch (CryptographicException)
        {
            // Malformed key material is an expected input error here; the caller gets false.
        }
        catch (ArgumentException)
        {
            // ImportFromPem throws ArgumentException for PEM without a usable RSA block.
        }

        rsa.Dispose();
        return false;
    }

    private static bool TryImportPem(RSA rsa, string text, bool isPrivate)
    {
        // ImportFromPem would happily load a public key into an RSA object asked for a private key; check the label
        // so a configuration mix-up fails at load time instead of at the first signature.
        var fields = PemEncoding.Find(text);
        var label = text.AsSpan()[fields.Label];
        var wanted = isPrivate
            ? label.SequenceEqual("RSA PRIVATE KEY") || label.SequenceEqual("PRIVATE KEY")
            : label.SequenceEqual("RSA PUBLIC KEY") || label.SequenceEqual("PUBLIC KEY");
        if (!wanted)
        {
            return false;
        }

        rsa.ImportFromPem(text);
        return true;
    }

    private static bool TryImportBareBase64(RSA rsa, string text, bool isPrivate)
    {
        // The SDK joins trimmed lines, so bodies copied with line breaks are fine; accept the same.
        var compact = string.Concat(text.Where(static c => !char.IsWhiteSpace(c)));
        var der = new byte[compact.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(compact, der, out var length))
        {
            return false;
        }

        var body = der.AsSpan(0, length);
        return isPrivate
            ? TryWhole(body, static (r, b) => { r.ImportPkcs8PrivateKey(b, out var n); return n; }, rsa)
              || TryWhole(body, static (r, b) => { r.ImportRSAPrivateKey(b, out var n); return n; }, rsa)
            : TryWhole(body, static (r, b) => { r.ImportSubjectPublicKeyInfo(b, out var n); return n; }, rsa)
              || TryWhole(body, static (r, b) => { r.ImportRSAPublicKey(b, out var n); return n; }, rsa);
    }

    private delegate int Importer(RSA rsa, ReadOnlySpan<byte> der);

    /// <summary>Tries one DER shape; trailing bytes mean it was not that shape.</summary>
    private static bool TryWhole(ReadOnlySpan<byte> der, Importer import, RSA rsa)
    {
        try
        {
            return import(rsa, der) == der.Length;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
