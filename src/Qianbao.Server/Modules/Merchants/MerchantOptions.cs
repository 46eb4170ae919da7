using System.ComponentModel.DataAnnotations;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>Merchant staff accounts and the native merchant API (configuration section <c>Qianbao:Merchant</c>).</summary>
internal sealed class MerchantOptions
{
    public const string SectionName = "Qianbao:Merchant";

    /// <summary>The largest refund a <c>cashier</c> may make by themselves, minor units (fen); larger ones need an <c>admin</c>.</summary>
    [Range(0, 1_000_000_000_000)]
    public long CashierRefundMaxMinor { get; set; } = 50_000;

    /// <summary>How long a merchant staff access token (<c>qbm1.</c>) lasts, minutes.</summary>
    [Range(5, 1440)]
    public int TokenLifetimeMinutes { get; set; } = 60;
}
