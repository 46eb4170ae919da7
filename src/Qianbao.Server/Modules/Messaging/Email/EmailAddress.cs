using System.Net.Mail;

namespace Qianbao.Server.Modules.Messaging.Email;

/// <summary>An e-mail address as people type it, checked and normalised (trimmed, domain in lower case).</summary>
internal static class EmailAddress
{
    /// <summary>RFC 5321's limit on a forward path.</summary>
    public const int LengthMax = 254;

    public static bool TryNormalize(string? text, out string email)
    {
        email = "";
        var trimmed = text?.Trim();
        if (trimmed is null || trimmed.Length is 0 or > LengthMax) return false;
        // A bare address only: no display name, no comments, no line breaks (they would reach a header).
        if (!MailAddress.TryCreate(trimmed, out var parsed) || parsed.Address != trimmed || parsed.DisplayName.Length != 0) return false;
        if (trimmed.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))) return false;
        var at = trimmed.LastIndexOf('@');
        var domain = trimmed[(at + 1)..];
        if (!domain.Contains('.') || domain.StartsWith('.') || domain.EndsWith('.')) return false;
        email = trimmed[..at] + "@" + domain.ToLowerInvariant();
        return true;
    }

    /// <summary>What the blind index is computed over: the whole address in lower case (mailboxes are case-insensitive in practice).</summary>
    public static string IndexForm(string normalized) => normalized.ToLowerInvariant();

    /// <summary><c>a***@example.com</c>: the first character of the local part, the domain.</summary>
    public static string Mask(string normalized)
    {
        var at = normalized.LastIndexOf('@');
        return normalized[..1] + "***" + normalized[at..];
    }
}
