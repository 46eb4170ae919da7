using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Qianbao.Server.Modules.Identity;

/// <summary>The holder's sex as the sequence code says it (odd: male, even: female).</summary>
internal enum Sex : byte { Male = 1, Female = 2 }

/// <summary>Why a resident identity number was refused (for the problem's detail; the code is always <c>invalid_id_number</c>).</summary>
internal enum ResidentIdProblem : byte
{
    None = 0,
    Format,
    Province,
    BirthDate,
    CheckCharacter,
    TooYoung,
}

/// <summary>
/// A mainland resident identity number (GB 11643-1999): 6-digit area code, birth date <c>YYYYMMDD</c>, 3-digit sequence
/// (odd: male), and the ISO 7064 MOD 11-2 check character (compliance-facts.md). <see cref="Value"/> is the canonical
/// form, with an upper-case <c>X</c>: people type a lower-case <c>x</c> as often as not, and it is the same character, so
/// it is accepted and normalized (one identity must have one keyed hash).
/// </summary>
internal readonly record struct ResidentIdNumber
{
    public const int Length = 18;

    /// <summary>The youngest age that may hold an account by itself (compliance: a payment account needs a person of 16).</summary>
    public const int AgeMin = 16;

    private static readonly int[] Weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    private const string CheckCharacters = "10X98765432";

    // First two digits: the province-level division (compliance-facts.md).
    private static readonly HashSet<int> Provinces =
    [
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
        61, 62, 63, 64, 65, 71, 81, 82,
    ];

    private ResidentIdNumber(string value, DateOnly birthDate)
    {
        Value = value;
        BirthDate = birthDate;
    }

    /// <summary>18 characters, digits and a final upper-case <c>X</c> at most.</summary>
    public string Value { get; }

    public DateOnly BirthDate { get; }

    public int ProvinceCode => (Value[0] - '0') * 10 + (Value[1] - '0');

    public Sex Sex => (Value[16] - '0') % 2 == 1 ? Sex.Male : Sex.Female;

    /// <summary>The birth date as stored (<c>YYYYMMDD</c>).</summary>
    public string BirthDateText => Value.Substring(6, 8);

    /// <summary>What answers and logs show: the first and the last character (<c>1****************X</c>).</summary>
    public string Masked => Value[0] + new string('*', Length - 2) + Value[^1];

    /// <summary>Whole years of age on <paramref name="today"/>.</summary>
    public int AgeOn(DateOnly today)
    {
        var age = today.Year - BirthDate.Year;
        if (today < BirthDate.AddYears(age)) age--;
        return age;
    }

    /// <summary>Parses and checks a number as someone typed it (surrounding spaces allowed): format, province, date, check character.</summary>
    public static ResidentIdProblem TryParse(string? text, [NotNullWhen(true)] out ResidentIdNumber? number)
    {
        number = null;
        var s = text?.Trim();
        if (s is not { Length: Length }) return ResidentIdProblem.Format;
        for (var i = 0; i < Length - 1; i++)
            if (s[i] is < '0' or > '9') return ResidentIdProblem.Format;
        var last = s[^1] == 'x' ? 'X' : s[^1];
        if (last is not ((>= '0' and <= '9') or 'X')) return ResidentIdProblem.Format;
        s = s[..^1] + last;

        if (!Provinces.Contains((s[0] - '0') * 10 + (s[1] - '0'))) return ResidentIdProblem.Province;
        if (!DateOnly.TryParseExact(s.AsSpan(6, 8), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var birth)
            || birth.Year < 1800)
            return ResidentIdProblem.BirthDate;

        var sum = 0;
        for (var i = 0; i < Length - 1; i++) sum += (s[i] - '0') * Weights[i];
        if (CheckCharacters[sum % 11] != last) return ResidentIdProblem.CheckCharacter;

        number = new ResidentIdNumber(s, birth);
        return ResidentIdProblem.None;
    }

    /// <summary>
    /// <see cref="TryParse"/>, and the holder must be at least <see cref="AgeMin"/> on <paramref name="today"/> (so a birth
    /// date in the future is refused too).
    /// </summary>
    public static ResidentIdProblem TryParseAdult(string? text, DateOnly today, [NotNullWhen(true)] out ResidentIdNumber? number)
    {
        var problem = TryParse(text, out number);
        if (problem != ResidentIdProblem.None) return problem;
        if (number!.Value.BirthDate > today) { number = null; return ResidentIdProblem.BirthDate; }
        if (number.Value.AgeOn(today) < AgeMin) { number = null; return ResidentIdProblem.TooYoung; }
        return ResidentIdProblem.None;
    }

    public static string Describe(ResidentIdProblem problem) => problem switch
    {
        ResidentIdProblem.Format => "id_number must be 18 characters: 17 digits and a digit or X.",
        ResidentIdProblem.Province => "id_number does not start with a valid province code.",
        ResidentIdProblem.BirthDate => "id_number does not hold a real birth date.",
        ResidentIdProblem.CheckCharacter => "id_number's check character does not match (GB 11643).",
        ResidentIdProblem.TooYoung => $"The holder must be at least {AgeMin} years old.",
        _ => "id_number is not a valid resident identity number.",
    };

    public override string ToString() => Masked;
}
