namespace Qianbao.Server.Modules.Identity.Tiers;

/// <summary>An account's real-name class (PBOC 2015 No. 43); stored as <c>users.tier</c>, never renumber.</summary>
internal enum UserTier : short
{
    /// <summary>No verified identity: may receive nothing from people and may not top up, send, pay or withdraw.</summary>
    Unverified = 0,

    /// <summary>A verified resident ID: ¥1,000 in total since opening, ¥1,000 a day (by default).</summary>
    ClassI = 1,

    /// <summary>A bank card the bank confirmed as the holder's: ¥100,000 a calendar year, ¥5,000 a day.</summary>
    ClassII = 2,

    /// <summary>Documents an operator reviewed: ¥200,000 a calendar year, ¥10,000 a day.</summary>
    ClassIII = 3,
}

internal static class UserTiers
{
    public static string Name(UserTier tier) => tier switch
    {
        UserTier.Unverified => "unverified",
        UserTier.ClassI => "class_i",
        UserTier.ClassII => "class_ii",
        UserTier.ClassIII => "class_iii",
        _ => throw new ArgumentOutOfRangeException(nameof(tier), tier, null),
    };

    public static bool TryParse(string? name, out UserTier tier)
    {
        tier = name switch
        {
            "unverified" => UserTier.Unverified,
            "class_i" => UserTier.ClassI,
            "class_ii" => UserTier.ClassII,
            "class_iii" => UserTier.ClassIII,
            _ => (UserTier)(-1),
        };
        return tier >= UserTier.Unverified;
    }

    /// <summary>A stored value; anything outside the enum is treated as unverified (fail closed).</summary>
    public static UserTier FromStored(long value) => value is >= 0 and <= 3 ? (UserTier)value : UserTier.Unverified;

    /// <summary>Today's date in China (UTC+8, no daylight saving): the day limits and ages are counted on.</summary>
    public static DateOnly ChinaToday(TimeProvider clock) => DateOnly.FromDateTime(clock.GetUtcNow().ToOffset(TimeSpan.FromHours(8)).DateTime);

    /// <summary>Masks a real name but its last character (<c>*磊</c>), as answers show it.</summary>
    public static string MaskName(string name)
    {
        var chars = System.Globalization.StringInfo.ParseCombiningCharacters(name);
        if (chars.Length <= 1) return "*";
        return new string('*', chars.Length - 1) + name[chars[^1]..];
    }
}
