using System.Globalization;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// How API answers show other people's and the caller's personal data: enough to recognise, too little to harvest.
/// Names (<see cref="Name"/>): a Chinese-style name hides all but its last character (<c>李磊</c> → <c>*磊</c>,
/// <c>王小明</c> → <c>**明</c>, a 1-character name → <c>*</c>); a Latin-script name keeps each word's first letter and
/// hides the rest behind a fixed <c>***</c> (<c>Bob</c> → <c>B***</c>, <c>Li Lei</c> → <c>L*** L***</c>), so the
/// length is not told either. Phones: <see cref="PhoneNumber.Mask"/> (<c>138****8000</c>). Resident ID numbers:
/// <see cref="IdNumber"/> (first and last character).
/// </summary>
internal static class Masks
{
    public static string Name(string name)
    {
        var trimmed = name.Trim();
        if (trimmed.Length == 0) return "*";
        var words = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (trimmed.Any(IsLatinLetter))
        {
            // One-letter words would be told whole by "first letter + ***"; they hide entirely.
            return string.Join(' ', words.Select(w => TextElements(w) is { Count: > 1 } e ? e[0] + "***" : "*"));
        }
        var elements = TextElements(string.Concat(words));
        if (elements.Count == 1) return "*";
        return new string('*', elements.Count - 1) + elements[^1];
    }

    /// <summary>A resident ID number as answers show it: the first and last characters, 16 stars between (<c>1****************X</c>).</summary>
    public static string IdNumber(string idNumber) =>
        idNumber.Length < 4 ? "****" : idNumber[0] + new string('*', idNumber.Length - 2) + idNumber[^1];

    private static bool IsLatinLetter(char c) => c < '\u0250' && char.IsLetter(c);

    // Text elements, not chars: a rare CJK character outside the BMP is a surrogate pair that must not be split.
    private static List<string> TextElements(string text)
    {
        var elements = new List<string>();
        var e = StringInfo.GetTextElementEnumerator(text);
        while (e.MoveNext()) elements.Add((string)e.Current);
        return elements;
    }
}
