using System.ComponentModel.DataAnnotations;

namespace Qianbao.Server.Modules.Points;

/// <summary>
/// Loyalty points (configuration section <c>Qianbao:Marketing</c>, shared with the other marketing options; these keys all
/// start with <c>Points</c>).
/// </summary>
internal sealed class PointsOptions
{
    public const string SectionName = "Qianbao:Marketing";

    /// <summary>Points a payment earns per yuan paid, before multipliers (floor of yuan × this). 0 turns earning off.</summary>
    [Range(0, 1_000)]
    public int PointsPerYuan { get; set; } = 1;

    /// <summary>Points redeemed at payment that make ¥1 of discount. A redemption must make whole fen (a multiple of this / gcd(this, 100)).</summary>
    [Range(1, 100_000)]
    public int PointsPerYuanDiscount { get; set; } = 100;

    /// <summary>The most of a trade's total redeemed points may pay, basis points (5000 = half); 0 turns redemption off.</summary>
    [Range(0, 10_000)]
    public int PointsMaxShareBps { get; set; } = 5_000;

    /// <summary>Points expire at the end of this many calendar months after the month they were earned (China time).</summary>
    [Range(1, 120)]
    public int PointsExpiryMonths { get; set; } = 12;

    /// <summary>How often the expiry sweeper looks for lots that ran out, milliseconds.</summary>
    [Range(50, 86_400_000)]
    public int PointsExpirySweepIntervalMs { get; set; } = 60_000;

    /// <summary>Most lots one sweep expires (the rest wait for the next sweep, which starts at once when this one was full).</summary>
    [Range(1, 10_000)]
    public int PointsExpiryBatchMax { get; set; } = 200;
}
