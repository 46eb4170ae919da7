using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Qianbao.Server.Http;

/// <summary>The <c>limit</c> query value of a paged list: absent or empty → the list's default, else 1..its maximum.</summary>
internal static class PageLimit
{
    /// <summary>Reads <paramref name="raw"/>; false with a 400 <c>invalid_limit</c> problem when it is not a whole number in 1..<paramref name="max"/>.</summary>
    public static bool TryRead(string? raw, int defaultValue, int max, out int limit, [NotNullWhen(false)] out IResult? problem)
    {
        limit = defaultValue;
        problem = null;
        if (string.IsNullOrEmpty(raw)) return true;
        if (int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 && limit <= max) return true;
        problem = ApiProblem.BadRequest(ErrorCodes.InvalidLimit, $"limit must be 1..{max}.");
        return false;
    }
}
