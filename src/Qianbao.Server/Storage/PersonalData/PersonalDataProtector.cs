using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Qianbao.Server.Storage.PersonalData;

/// <summary>
/// Where a sealed value lives: its table, its column and its row. It is the associated data of the seal, so a value
/// copied to another column or another row no longer opens.
/// </summary>
internal readonly record struct SealedField(string Table, string Column, Guid RowId);

/// <summary>What a blind index is of: each kind is keyed apart, so equal strings of different kinds index differently.</summary>
internal enum IndexKind { Phone, IdNumber, Licence, Email }

/// <summary>A sealed value that does not open: unknown key id, changed bytes, or moved to another field.</summary>
internal sealed class SealedValueException(string message) : CryptographicException(message);

/// <summary>
/// Seals personal data for storage and computes blind indexes for lookups. A sealed value is
/// <c>v1.&lt;keyId&gt;.&lt;nonce&gt;.&lt;ciphertext+tag&gt;</c> (base64url parts): AES-256-GCM under the data key
/// <c>keyId</c>, a random 96-bit nonce, the 128-bit tag appended, and <c>v1|keyId|table.column|rowId</c> as associated data.
/// A blind index is the lowercase hex HMAC-SHA256 of <c>kind|normalised value</c> under the index key: equal values index
/// equally (so a unique index and a lookup work), but the index tells nothing without the key, which is not in the database.
/// </summary>
internal sealed class PersonalDataProtector(DataKeyRing ring)
{
    public const string Version = "v1";
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly byte[] phoneIndexKey = Derive(ring.IndexKey, "phone");
    private readonly byte[] idNumberIndexKey = Derive(ring.IndexKey, "id-number");
    private readonly byte[] licenceIndexKey = Derive(ring.IndexKey, "licence");
    private readonly byte[] emailIndexKey = Derive(ring.IndexKey, "email");

    public string CurrentKeyId => ring.Current.Id;

    /// <summary>The prefix every value sealed under the current key starts with (<c>v1.k2.</c>).</summary>
    public string CurrentPrefix => $"{Version}.{ring.Current.Id}.";

    public string Seal(string plaintext, SealedField field)
    {
        var key = ring.Current;
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var sealedBytes = new byte[plain.Length + TagBytes];
        using (var aes = new AesGcm(key.Key, TagBytes))
            aes.Encrypt(nonce, plain, sealedBytes.AsSpan(0, plain.Length), sealedBytes.AsSpan(plain.Length), Associated(key.Id, field));
        return $"{Version}.{key.Id}.{Base64Url.EncodeToString(nonce)}.{Base64Url.EncodeToString(sealedBytes)}";
    }

    public string? SealOrNull(string? plaintext, SealedField field) => plaintext is null ? null : Seal(plaintext, field);

    /// <exception cref="SealedValueException">The value is not a seal this ring opens for <paramref name="field"/>.</exception>
    public string Open(string sealedValue, SealedField field)
    {
        var parts = sealedValue.Split('.');
        if (parts.Length != 4 || parts[0] != Version) throw new SealedValueException($"{field.Table}.{field.Column} of {field.RowId} is not a sealed value");
        var key = ring.Find(parts[1]) ?? throw new SealedValueException(
            $"{field.Table}.{field.Column} of {field.RowId} is sealed with data key '{parts[1]}', which is not configured");
        byte[] nonce, sealedBytes;
        try
        {
            nonce = Base64Url.DecodeFromChars(parts[2]);
            sealedBytes = Base64Url.DecodeFromChars(parts[3]);
        }
        catch (FormatException)
        {
            throw new SealedValueException($"{field.Table}.{field.Column} of {field.RowId} is not a sealed value");
        }
        if (nonce.Length != NonceBytes || sealedBytes.Length < TagBytes)
            throw new SealedValueException($"{field.Table}.{field.Column} of {field.RowId} is not a sealed value");
        var plain = new byte[sealedBytes.Length - TagBytes];
        try
        {
            using var aes = new AesGcm(key.Key, TagBytes);
            aes.Decrypt(nonce, sealedBytes.AsSpan(0, plain.Length), sealedBytes.AsSpan(plain.Length), plain, Associated(key.Id, field));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new SealedValueException($"{field.Table}.{field.Column} of {field.RowId} does not open: changed, or moved from another field");
        }
        return Encoding.UTF8.GetString(plain);
    }

    public string? OpenOrNull(string? sealedValue, SealedField field) => sealedValue is null ? null : Open(sealedValue, field);

    /// <summary>The key id a sealed value names, or null when it is not a sealed value.</summary>
    public static string? KeyIdOf(string value)
    {
        var parts = value.Split('.');
        return parts.Length == 4 && parts[0] == Version ? parts[1] : null;
    }

    public static bool IsSealed(string? value) => value is not null && KeyIdOf(value) is not null;

    /// <summary>The blind index of an already normalised value (a phone in E.164, an ID number in upper case, a trimmed licence).</summary>
    public string Index(IndexKind kind, string normalized)
    {
        var key = kind switch
        {
            IndexKind.Phone => phoneIndexKey,
            IndexKind.IdNumber => idNumberIndexKey,
            IndexKind.Licence => licenceIndexKey,
            IndexKind.Email => emailIndexKey,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(normalized)));
    }

    private static byte[] Associated(string keyId, SealedField field) =>
        Encoding.UTF8.GetBytes($"{Version}|{keyId}|{field.Table}.{field.Column}|{field.RowId:N}");

    private static byte[] Derive(byte[] key, string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, info: Encoding.UTF8.GetBytes("qianbao/blind-index/" + purpose));
}
