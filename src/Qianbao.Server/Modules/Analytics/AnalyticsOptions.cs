using System.ComponentModel.DataAnnotations;

namespace Qianbao.Server.Modules.Analytics;

/// <summary>Merchant analytics and operator KPIs (configuration section <c>Qianbao:Analytics</c>).</summary>
internal sealed class AnalyticsOptions
{
    public const string SectionName = "Qianbao:Analytics";

    /// <summary>
    /// k of k-anonymity: a demographic bucket with fewer distinct payers is folded into <c>other</c>, and <c>other</c> is dropped
    /// when it is itself below k. Never below 5: a smaller k would let a merchant single out its customers.
    /// </summary>
    [Range(5, 1_000_000)]
    public int KMin { get; set; } = 20;
}
