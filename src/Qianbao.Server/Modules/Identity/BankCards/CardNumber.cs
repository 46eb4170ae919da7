namespace Qianbao.Server.Modules.Identity.BankCards;

/// <summary>A payment card number: 13..19 digits passing the Luhn check (compliance-facts.md). Spaces and dashes as people group digits are dropped.</summary>
internal static class CardNumber
{
    public const int LengthMin = 13;
    public const int LengthMax = 19;

    public static bool TryNormalize(string? text, out string digits)
    {
        digits = "";
        if (text is null || text.Length > 40) return false;
        var kept = new System.Text.StringBuilder(LengthMax);
        foreach (var c in text)
        {
            if (c is ' ' or '-') continue;
            if (c is < '0' or > '9') return false;
            kept.Append(c);
        }
        digits = kept.ToString();
        return digits.Length is >= LengthMin and <= LengthMax && IsLuhnValid(digits);
    }

    /// <summary>The Luhn (mod 10) check over all digits, the last being the check digit.</summary>
    public static bool IsLuhnValid(string digits)
    {
        if (digits.Length == 0) return false;
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var c = digits[digits.Length - 1 - i];
            if (c is < '0' or > '9') return false;
            var d = c - '0';
            if (i % 2 == 1)
            {
                d *= 2;
                if (d > 9) d -= 9;
            }
            sum += d;
        }
        return sum % 10 == 0;
    }
}
