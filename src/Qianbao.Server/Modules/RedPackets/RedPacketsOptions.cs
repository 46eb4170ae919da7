using System.ComponentModel.DataAnnotations;

namespace Qianbao.Server.Modules.RedPackets;

/// <summary>Settings of red packets (configuration section <c>Qianbao:RedPackets</c>).</summary>
internal sealed class RedPacketsOptions
{
    public const string SectionName = "Qianbao:RedPackets";

    /// <summary>Pause between passes of the expiry sweeper, in milliseconds (10..600000): below 10 the loop would spin on the database.</summary>
    [Range(10, 600_000)]
    public int SweepIntervalMs { get; set; } = 5_000;

    /// <summary>Most expired packets one sweeper pass returns to their senders (1..10000); the rest wait for the next pass.</summary>
    [Range(1, 10_000)]
    public int SweepBatchMax { get; set; } = 200;
}
