using System.ComponentModel.DataAnnotations;

namespace Qianbao.Server.Modules.Cashback;

/// <summary>Cashback settling (configuration section <c>Qianbao:Marketing</c>, shared with the other marketing options; keys start with <c>Cashback</c>).</summary>
internal sealed class CashbackOptions
{
    public const string SectionName = "Qianbao:Marketing";

    /// <summary>How often the settle sweeper looks for pending cashback whose time has come, milliseconds.</summary>
    [Range(50, 86_400_000)]
    public int CashbackSettleSweepIntervalMs { get; set; } = 60_000;

    /// <summary>Most credits one sweep posts (the rest wait for the next sweep, which starts at once when this one was full).</summary>
    [Range(1, 10_000)]
    public int CashbackSettleBatchMax { get; set; } = 200;
}
