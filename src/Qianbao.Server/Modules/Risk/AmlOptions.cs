using System.ComponentModel.DataAnnotations;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// Thresholds of the AML rules (configuration section <c>Qianbao:Aml</c>), amounts in CNY minor units. Defaults: PBOC
/// Order 2016 No. 3 for large values (natural persons ¥500,000 a day, one side at a time; others ¥2,000,000), and the
/// issue's rules of thumb for the rest. <c>Qianbao:Security:Relaxed</c> does not turn any of this off.
/// </summary>
internal sealed class AmlOptions
{
    public const string SectionName = "Qianbao:Aml";

    /// <summary>A person's transfers and payments on one side (in, or out) in one China day reported at or above this (¥500,000).</summary>
    [Range(1, 1_000_000_000_000)]
    public long LargeValuePersonMinor { get; set; } = 50_000_000;

    /// <summary>The same for a merchant (a non-natural person): ¥2,000,000.</summary>
    [Range(1, 1_000_000_000_000)]
    public long LargeValueMerchantMinor { get; set; } = 200_000_000;

    /// <summary>Structuring: this many outgoing movements or more in the window, each in the band below a threshold.</summary>
    [Range(2, 1_000)]
    public int StructuringCount { get; set; } = 5;

    /// <summary>Structuring: the band's lower edge, in percent of the large-value threshold (or of the person's daily tier cap).</summary>
    [Range(1, 100)]
    public int StructuringBandPercent { get; set; } = 90;

    /// <summary>Structuring: the window, hours.</summary>
    [Range(1, 168)]
    public int StructuringWindowHours { get; set; } = 24;

    /// <summary>Velocity: more than this many outgoing movements in the window is a hit.</summary>
    [Range(1, 100_000)]
    public int VelocityCountMax { get; set; } = 20;

    /// <summary>Velocity: the window, minutes.</summary>
    [Range(1, 1_440)]
    public int VelocityWindowMinutes { get; set; } = 60;

    /// <summary>Pass-through: at least this percentage of the money received moved out again within the window.</summary>
    [Range(1, 100)]
    public int PassThroughPercent { get; set; } = 80;

    /// <summary>Pass-through: the window, minutes.</summary>
    [Range(1, 1_440)]
    public int PassThroughWindowMinutes { get; set; } = 30;

    /// <summary>Pass-through: the least amount moved out that counts (¥10,000).</summary>
    [Range(1, 1_000_000_000_000)]
    public long PassThroughMinMinor { get; set; } = 1_000_000;

    /// <summary>Dormant then active: days without any movement.</summary>
    [Range(1, 3_650)]
    public int DormantDays { get; set; } = 180;

    /// <summary>Dormant then active: what moves (both sides) on the first active China day (¥50,000).</summary>
    [Range(1, 1_000_000_000_000)]
    public long DormantActiveMinor { get; set; } = 5_000_000;

    /// <summary>The case evidence page shows the subject's movements this many hours either side of its hits.</summary>
    [Range(1, 720)]
    public int EvidenceWindowHours { get; set; } = 24;

    /// <summary>How far back one evaluation looks: the longest window, or a whole China day (which can start up to 24 h before).</summary>
    public TimeSpan HistoryWindow => new[]
    {
        TimeSpan.FromHours(StructuringWindowHours), TimeSpan.FromMinutes(VelocityWindowMinutes), TimeSpan.FromMinutes(PassThroughWindowMinutes),
        TimeSpan.FromHours(24),
    }.Max();
}
