using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Qianbao.Server.Modules.Channels;

/// <summary>What checking an <c>X-Qianbao-Signature</c> header found.</summary>
internal enum SignatureCheck : byte
{
    Valid = 0,

    /// <summary>No header, a malformed one, or a MAC that does not match.</summary>
    Invalid = 1,

    /// <summary>Well formed and correctly signed, but its timestamp is outside the replay window.</summary>
    Stale = 2,
}

/// <summary>
/// The signature of every message between Qianbao and a bank connector, in both directions:
/// <c>X-Qianbao-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "&lt;t&gt;.&lt;raw body&gt;"&gt;</c>.
/// The timestamp is inside the MAC, so a captured message can be replayed only within <see cref="ReplayWindow"/>
/// (and applying an outcome twice changes nothing); outside it, it is refused.
/// </summary>
internal static class ChannelSignature
{
    public const string HeaderName = "X-Qianbao-Signature";

    /// <summary>How far a message's timestamp may be from our clock, either way.</summary>
    public static readonly TimeSpan ReplayWindow = TimeSpan.FromMinutes(5);

    /// <summary>Longest header accepted; a real one is about 80 characters.</summary>
    private const int HeaderLengthMax = 512;

    public static string Sign(ReadOnlySpan<byte> key, long unixSeconds, ReadOnlySpan<byte> body)
    {
        var mac = Mac(key, unixSeconds, body);
        return $"t={unixSeconds.ToString(CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(mac)}";
    }

    public static string Sign(ReadOnlySpan<byte> key, TimeProvider clock, ReadOnlySpan<byte> body) =>
        Sign(key, clock.GetUtcNow().ToUnixTimeSeconds(), body);

    /// <summary>Checks <paramref name="header"/> against <paramref name="body"/> in constant time (for the MAC) and the replay window.</summary>
    public static SignatureCheck Verify(ReadOnlySpan<byte> key, string? header, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(header) || header.Length > HeaderLengthMax) return SignatureCheck.Invalid;
        long? timestamp = null;
        var candidates = new List<byte[]>(2);
        foreach (var part in header.Split(','))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) return SignatureCheck.Invalid;
            var name = part[..eq].Trim();
            var value = part[(eq + 1)..].Trim();
            switch (name)
            {
                case "t":
                    if (timestamp is not null || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var t)) return SignatureCheck.Invalid;
                    timestamp = t;
                    break;
                case "v1":
                    // Several v1 entries are allowed (a connector rotating its key may send both); one must match.
                    if (value.Length != 64 || candidates.Count >= 4) return SignatureCheck.Invalid;
                    try
                    {
                        candidates.Add(Convert.FromHexString(value));
                    }
                    catch (FormatException)
                    {
                        return SignatureCheck.Invalid;
                    }
                    break;
                default:
                    // Unknown schemes are ignored, so a later v2 can be sent beside v1.
                    break;
            }
        }

        if (timestamp is not { } ts || candidates.Count == 0 || ts > DateTimeOffset.MaxValue.ToUnixTimeSeconds()) return SignatureCheck.Invalid;
        var expected = Mac(key, ts, body);
        var matched = false;
        foreach (var candidate in candidates) matched |= CryptographicOperations.FixedTimeEquals(candidate, expected);
        if (!matched) return SignatureCheck.Invalid;
        // Only a genuine message is told it is stale; anyone else learns nothing about our clock.
        var age = now - DateTimeOffset.FromUnixTimeSeconds(ts);
        return age.Duration() > ReplayWindow ? SignatureCheck.Stale : SignatureCheck.Valid;
    }

    private static byte[] Mac(ReadOnlySpan<byte> key, long unixSeconds, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return HMACSHA256.HashData(key, message);
    }
}
