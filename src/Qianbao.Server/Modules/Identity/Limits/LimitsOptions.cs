using System.ComponentModel.DataAnnotations;

namespace Qianbao.Server.Modules.Identity.Limits;

/// <summary>
/// Spending caps per real-name tier (configuration section <c>Qianbao:Limits</c>), in CNY minor units. Defaults are
/// the PBOC 2015 rules for payment accounts (shared/protocols/compliance-facts.md). Unverified accounts may not spend
/// at all. Top-ups, incoming money and withdrawals to the user's own card do not count. Caps must not fall from one tier to
/// the next: a higher tier's allowance is the lower one's plus a grant of the difference (see <see cref="TierLimits"/>).
/// </summary>
internal sealed class LimitsOptions : Hosting.IOptionsRules
{
    public const string SectionName = "Qianbao:Limits";

    /// <summary>Class I: ¥1,000 in total since the account was opened, ¥1,000 a day.</summary>
    public TierLimitsOptions ClassI { get; set; } = new() { CumulativeMaxMinor = 100_000, DailyMaxMinor = 100_000 };

    /// <summary>Class II: ¥100,000 per calendar year, ¥5,000 a day.</summary>
    public TierLimitsOptions ClassII { get; set; } = new() { CumulativeMaxMinor = 10_000_000, DailyMaxMinor = 500_000 };

    /// <summary>Class III: ¥200,000 per calendar year, ¥10,000 a day.</summary>
    public TierLimitsOptions ClassIII { get; set; } = new() { CumulativeMaxMinor = 20_000_000, DailyMaxMinor = 1_000_000 };

    public IEnumerable<(string Property, string Problem)> Problems()
    {
        // A value out of its range is already refused with its own line; the order of tiers is judged on sane values only.
        if (new[] { ClassI, ClassII, ClassIII }.Any(t => t.DailyMaxMinor is < 0 or > 1_000_000_000_000 || t.CumulativeMaxMinor is < 0 or > 1_000_000_000_000))
            yield break;
        if (ClassII.DailyMaxMinor < ClassI.DailyMaxMinor)
            yield return ("ClassII:DailyMaxMinor", $"must be at least ClassI:DailyMaxMinor ({ClassI.DailyMaxMinor}) (was {ClassII.DailyMaxMinor})");
        if (ClassIII.DailyMaxMinor < ClassII.DailyMaxMinor)
            yield return ("ClassIII:DailyMaxMinor", $"must be at least ClassII:DailyMaxMinor ({ClassII.DailyMaxMinor}) (was {ClassIII.DailyMaxMinor})");
        if (ClassII.CumulativeMaxMinor < ClassI.CumulativeMaxMinor)
            yield return ("ClassII:CumulativeMaxMinor", $"must be at least ClassI:CumulativeMaxMinor ({ClassI.CumulativeMaxMinor}) (was {ClassII.CumulativeMaxMinor})");
        if (ClassIII.CumulativeMaxMinor < ClassII.CumulativeMaxMinor)
            yield return ("ClassIII:CumulativeMaxMinor", $"must be at least ClassII:CumulativeMaxMinor ({ClassII.CumulativeMaxMinor}) (was {ClassIII.CumulativeMaxMinor})");
    }
}

internal sealed class TierLimitsOptions
{
    /// <summary>Most that may be spent over the tier's long period (since opening for class I, the calendar year for II and III), minor units (0..10^12).</summary>
    [Range(0, 1_000_000_000_000)]
    public long CumulativeMaxMinor { get; set; }

    /// <summary>Most that may be spent in one calendar day (China time), minor units (0..10^12).</summary>
    [Range(0, 1_000_000_000_000)]
    public long DailyMaxMinor { get; set; }
}
