using System.Security.Cryptography;
using System.Text;
using OtpNet;
using Qianbao.Server.Modules.Identity.Totp;

namespace Qianbao.Server.Modules.Operators;

/// <summary>
/// The pieces of an operator's credentials: the e-mail that names the account, the one-time invitation token, and the TOTP
/// second factor (RFC 6238 as authenticator apps use it, the same parameters as a user's: <see cref="TotpAuthenticator"/>).
/// </summary>
internal static class OperatorCredentials
{
    public const int EmailLengthMax = 254;
    public const int NameLengthMax = 100;

    /// <summary>Longer than a user's minimum: an operator password opens every wallet.</summary>
    public const int PasswordLengthMin = 12;
    public const int PasswordLengthMax = 128;

    /// <summary>How long an invitation can be accepted: a weekend and a working day.</summary>
    public static readonly TimeSpan InvitationLifetime = TimeSpan.FromHours(72);

    public const string TotpIssuer = "Qianbao Operators";

    /// <summary>
    /// An address as stored and looked up: trimmed and lower-cased (invariant), one <c>@</c> with text on both sides and a dot
    /// in the domain, no spaces or control characters, at most <see cref="EmailLengthMax"/> characters. Deliverability is the
    /// owner's business; this only keeps one spelling per person.
    /// </summary>
    public static bool TryNormalizeEmail(string? email, out string normalized)
    {
        normalized = "";
        var trimmed = email?.Trim().ToLowerInvariant();
        if (trimmed is not { Length: >= 3 and <= EmailLengthMax } || trimmed.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))) return false;
        var at = trimmed.IndexOf('@');
        if (at <= 0 || at != trimmed.LastIndexOf('@') || at == trimmed.Length - 1) return false;
        var domain = trimmed[(at + 1)..];
        if (!domain.Contains('.') || domain.StartsWith('.') || domain.EndsWith('.')) return false;
        normalized = trimmed;
        return true;
    }

    public static bool IsValidName(string? name) =>
        name?.Trim() is { Length: >= 1 and <= NameLengthMax } trimmed && !trimmed.Any(char.IsControl);

    public static bool IsValidPassword(string? password) => password is { Length: >= PasswordLengthMin and <= PasswordLengthMax };

    /// <summary>A new invitation token (256 random bits, base64url) and the hash stored in its place.</summary>
    public static (string Token, string Hash) NewInvitation()
    {
        var token = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (token, InvitationHash(token));
    }

    /// <summary>Only this is stored: whoever reads the table cannot accept an invitation.</summary>
    public static string InvitationHash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static string NewTotpSecret() => Base32Encoding.ToString(KeyGeneration.GenerateRandomKey(TotpAuthenticator.SecretBytes)).TrimEnd('=');

    public static string OtpauthUri(string email, string secret)
    {
        var issuer = Uri.EscapeDataString(TotpIssuer);
        return $"otpauth://totp/{issuer}:{Uri.EscapeDataString(email)}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={TotpAuthenticator.Digits}&period={TotpAuthenticator.StepSeconds}";
    }

    /// <summary>The step (±1 around <paramref name="now"/>) whose code <paramref name="code"/> is, when later than <paramref name="lastStep"/>.</summary>
    public static long? MatchTotp(string secret, string? code, long? lastStep, DateTimeOffset now)
    {
        if (code is not { Length: TotpAuthenticator.Digits } || !code.All(char.IsAsciiDigit)) return null;
        byte[] key;
        try
        {
            key = Base32Encoding.ToBytes(secret);
        }
        catch (ArgumentException)
        {
            return null;
        }
        var totp = new OtpNet.Totp(key, TotpAuthenticator.StepSeconds, OtpHashMode.Sha1, TotpAuthenticator.Digits);
        if (!totp.VerifyTotp(now.UtcDateTime, code, out var step, new VerificationWindow(previous: 1, future: 1))) return null;
        return lastStep is { } last && step <= last ? null : step;
    }
}
