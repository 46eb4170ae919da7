using System.Diagnostics.CodeAnalysis;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>Why a unified social credit code was refused (for the problem's detail; the code is always <c>invalid_credit_code</c>).</summary>
internal enum CreditCodeProblem : byte
{
    None = 0,
    Length,
    Character,
    CheckCharacter,
}

/// <summary>
/// An organisation's unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from
/// <c>0123456789ABCDEFGHJKLMNPQRTUWXY</c> (no I, O, Z, S, V), the last one a check character over the first 17 with the
/// weights <c>3^i mod 31</c> (compliance-facts.md). <see cref="Value"/> is upper case: people type letters in either case, and
/// one organisation must have one keyed index.
/// </summary>
internal readonly record struct UnifiedSocialCreditCode
{
    public const int Length = 18;
    public const string Alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";

    private static readonly int[] Weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

    private UnifiedSocialCreditCode(string value) => Value = value;

    public string Value { get; }

    public override string ToString() => Value;

    /// <summary>Parses and checks a code as someone typed it (surrounding spaces and lower-case letters allowed).</summary>
    public static CreditCodeProblem TryParse(string? text, [NotNullWhen(true)] out UnifiedSocialCreditCode? code)
    {
        code = null;
        var s = text?.Trim().ToUpperInvariant();
        if (s is not { Length: Length }) return CreditCodeProblem.Length;
        foreach (var c in s)
            if (Alphabet.IndexOf(c) < 0) return CreditCodeProblem.Character;
        if (CheckCharacter(s.AsSpan(0, Length - 1)) != s[^1]) return CreditCodeProblem.CheckCharacter;
        code = new UnifiedSocialCreditCode(s);
        return CreditCodeProblem.None;
    }

    /// <summary>The check character of 17 characters of the alphabet: 31 − (Σ value × weight mod 31), where 31 means 0.</summary>
    public static char CheckCharacter(ReadOnlySpan<char> first17)
    {
        if (first17.Length != Length - 1) throw new ArgumentException("Seventeen characters are needed.", nameof(first17));
        var sum = 0;
        for (var i = 0; i < first17.Length; i++)
        {
            var value = Alphabet.IndexOf(first17[i]);
            if (value < 0) throw new ArgumentException("A character outside the GB 32100 alphabet.", nameof(first17));
            sum += value * Weights[i];
        }
        return Alphabet[(31 - sum % 31) % 31];
    }

    public static string Describe(CreditCodeProblem problem) => problem switch
    {
        CreditCodeProblem.Length => "credit_code must be 18 characters.",
        CreditCodeProblem.Character => "credit_code may use only 0-9 and the letters A-Y without I, O, S, V and Z.",
        _ => "credit_code's check character does not match (GB 32100).",
    };
}
