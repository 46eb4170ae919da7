using Qianbao.Server.Modules.Marketing;

namespace Qianbao.Server.Modules.Cashback;

/// <summary>The arithmetic of cashback, exact in fen.</summary>
internal static class CashbackRules
{
    /// <summary>
    /// What a payment of <paramref name="payAmount"/> fen (what the buyer paid, after discounts) earns under
    /// <paramref name="terms"/>: floor(pay × percent_bps / 10000), at most the cap (0: none); 0 below min_spend of the
    /// trade's <paramref name="totalAmount"/>.
    /// </summary>
    public static long Earned(long totalAmount, long payAmount, CashbackTerms terms)
    {
        if (totalAmount < terms.MinSpend || payAmount <= 0) return 0;
        var earned = (long)((Int128)payAmount * terms.PercentBps / 10_000);
        return terms.Cap > 0 ? Math.Min(earned, terms.Cap) : earned;
    }

    /// <summary>
    /// What refunds of <paramref name="refunded"/> of a trade of <paramref name="total"/> take back of <paramref name="earned"/>
    /// in all: floor(earned × refunded / total), so the full refund takes back exactly all of it. Each refund takes the
    /// difference of this before and after it.
    /// </summary>
    public static long TakenBack(long earned, long refunded, long total) =>
        total <= 0 ? earned : (long)((Int128)earned * Math.Min(refunded, total) / total);
}
