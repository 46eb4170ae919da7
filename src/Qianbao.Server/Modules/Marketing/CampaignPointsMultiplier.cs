using Qianbao.Server.Modules.Points;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>
/// Points campaigns' multiplier, plugged into the points earning (see <see cref="IPointsMultiplier"/>): of the points campaigns
/// active when the payment was made whose scope holds its merchant, the largest <c>multiplier_bps</c> applies (campaigns do not
/// compound: two ×2 campaigns give ×2, so overlapping promotions cannot multiply each other); none → ×1. The member level's
/// multiplier is a separate factor and does multiply with it.
/// </summary>
internal sealed class CampaignPointsMultiplier(Campaigns campaigns) : IPointsMultiplier
{
    public const int None = 10_000;

    public async ValueTask<int> MultiplierBpsAsync(PointsEarningContext payment, CancellationToken ct)
    {
        var best = None;
        foreach (var c in await campaigns.ActiveAtAsync(CampaignKind.Points, payment.PaidAtUs, ct))
            if (c.AppliesAt(payment.MerchantId) && c.Terms.Points is { } t) best = Math.Max(best, t.MultiplierBps);
        return best;
    }

    /// <summary>The same for a batch of payments, from one read of the points campaigns active during the batch.</summary>
    public async ValueTask<int[]> MultipliersBpsAsync(IReadOnlyList<PointsEarningContext> payments, CancellationToken ct)
    {
        var factors = new int[payments.Count];
        if (payments.Count == 0) return factors;
        var during = await campaigns.ActiveDuringAsync(CampaignKind.Points, payments.Min(p => p.PaidAtUs), payments.Max(p => p.PaidAtUs), ct);
        for (var i = 0; i < factors.Length; i++)
        {
            if (during is null)
            {
                factors[i] = await MultiplierBpsAsync(payments[i], ct);
                continue;
            }
            var best = None;
            foreach (var c in during)
                if (c.WasActiveAt(payments[i].PaidAtUs) && c.AppliesAt(payments[i].MerchantId) && c.Terms.Points is { } t) best = Math.Max(best, t.MultiplierBps);
            factors[i] = best;
        }
        return factors;
    }
}
