using System.Security.Cryptography;
using System.Runtime.InteropServices;

namespace Qianbao.Ledger;

/// <summary>Identifies a ledger account. <see cref="Guid.Empty"/> is never a valid account.</summary>
public readonly record struct AccountId(Guid Value)
{
    public bool IsZero => Value == Guid.Empty;
    public override string ToString() => Value.ToString();
}

/// <summary>
/// A client-generated transfer id. A transfer id is applied at most once: a second request with the
/// same id answers <see cref="TransferResult.Exists"/> (or an <c>ExistsWith…</c> mismatch).
/// </summary>
public readonly record struct TransferId(Guid Value)
{
    public bool IsZero => Value == Guid.Empty;
    public override string ToString() => Value.ToString();
}

/// <summary>Ids derived from stable names, so that retries of the same intent name the same object.</summary>
public static class StableId
{
    /// <summary>
    /// A name-based id (RFC 9562 version 8 layout over SHA-256): the same <paramref name="scope"/> and
    /// <paramref name="name"/> always give the same id; different inputs collide only with SHA-256.
    /// </summary>
    public static Guid From(string scope, string name)
    {
        // Hash the UTF-16 code units as they are: a UTF-8 encoder would map every lone surrogate to U+FFFD
        // and make distinct names collide. The scope's length makes the split of scope and name unambiguous.
        // Hashed as "<scope length>:<scope>\u001f<name>" in one shot (an incremental hash allocates a native context per call,
        // and this runs several times per payment); the bytes hashed are the same as ever, so every id is unchanged.
        Span<char> length = stackalloc char[11];
        scope.Length.TryFormat(length, out var lengthChars, provider: System.Globalization.CultureInfo.InvariantCulture);
        var total = lengthChars + 1 + scope.Length + 1 + name.Length;
        var text = total <= 256 ? stackalloc char[total] : new char[total];
        length[..lengthChars].CopyTo(text);
        text[lengthChars] = ':';
        scope.AsSpan().CopyTo(text[(lengthChars + 1)..]);
        text[lengthChars + 1 + scope.Length] = '\u001f';
        name.AsSpan().CopyTo(text[(lengthChars + 2 + scope.Length)..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(MemoryMarshal.AsBytes(text), hash);
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80); // version 8
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC variant
        return new Guid(bytes, bigEndian: true);
    }
}
