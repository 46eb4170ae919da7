using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Modules.Analytics;

/// <summary>A payer's demographic buckets as stored (numbers only): gender, age band and province, each 0 when unknown.</summary>
internal readonly record struct Buckets(short Gender, short AgeBand, short Province)
{
    public static readonly Buckets Unknown = new(0, 0, 0);

    /// <summary>Upper bounds (exclusive) of the age bands 1..5; band 6 is 55 and over.</summary>
    private static readonly int[] AgeBandEnds = [18, 25, 35, 45, 55];

    private static readonly string[] AgeBandKeys = ["unknown", "<18", "18-24", "25-34", "35-44", "45-54", "55+"];

    /// <summary>The buckets of a payer with these identity facts (null: no verified identity), aged as on <paramref name="on"/>.</summary>
    public static Buckets Of(IdentityFacts? facts, DateOnly on)
    {
        if (facts is not { } f) return Unknown;
        var age = on.Year - f.BirthDate.Year;
        if (on < f.BirthDate.AddYears(age)) age--;
        short band = 6;
        for (var i = 0; i < AgeBandEnds.Length; i++)
        {
            if (age < AgeBandEnds[i]) { band = (short)(i + 1); break; }
        }
        return new Buckets((short)f.Sex, band, (short)f.ProvinceCode);
    }

    public static string GenderKey(short gender) => gender switch { 1 => "male", 2 => "female", _ => "unknown" };

    public static string AgeBandKey(short band) => band is >= 0 and <= 6 ? AgeBandKeys[band] : "unknown";

    /// <summary>The province as the first two digits of its GB/T 2260 code (<c>44</c> Guangdong), or <c>unknown</c>.</summary>
    public static string ProvinceKey(short province) => province > 0 ? province.ToString("00", System.Globalization.CultureInfo.InvariantCulture) : "unknown";
}
