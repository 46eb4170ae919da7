using System.Text.RegularExpressions;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// Phone numbers in E.164 form (<c>+8613800138000</c>). A bare 11-digit mainland mobile number
/// (<c>1[3-9]xxxxxxxxx</c>) is taken as +86. Logs only ever see <see cref="Mask"/>.
/// </summary>
internal partial class PhoneNumber
{
    [GeneratedRegex(@"^1[3-9][0-9]{9}$")]
    private static partial Regex MainlandMobile();

    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}$")]
    private static partial Regex E164();

    public static bool TryNormalize(string? input, out string normalized)
    {
        normalized = "";
        if (input is null) return false;
        var compact = input.Replace(" ", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        if (MainlandMobile().IsMatch(compact)) { normalized = "+86" + compact; return true; }
        if (E164().IsMatch(compact)) { normalized = compact; return true; }
        return false;
    }

    /// <summary>
    /// The phone as answers and logs show it: a mainland number as its first three and last four digits
    /// (<c>+8613800138000</c> → <c>138****8000</c>), any other as its first three and last four characters
    /// (<c>+44****0123</c>).
    /// </summary>
    public static string Mask(string e164)
    {
        var national = e164.StartsWith("+86", StringComparison.Ordinal) ? e164[3..] : e164;
        return national.Length <= 8 ? "****" : national[..3] + "****" + national[^4..];
    }
}
