namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>Conversions out of people: one arm of a comparison (a variant, or the holdout).</summary>
internal readonly record struct Arm(string Key, long People, long Converted)
{
    public double Rate => People == 0 ? 0 : (double)Converted / People;
}

/// <summary>The verdict of a campaign's A/B test (see <see cref="CampaignStatistics.Compare"/>).</summary>
internal sealed record AbVerdict(string? Best, double? PValueVsNext, double? PValueVsHoldout, string? Winner);

/// <summary>
/// The statistics of campaign results: pure functions, unit-tested against hand-computed values. The best variant is the
/// one with the highest conversion rate; it is compared by a two-sided two-proportion z-test (pooled) against the next best
/// variant and against the holdout; it is the winner only when both p-values are below 0.05.
/// </summary>
internal static class CampaignStatistics
{
    public const double Significance = 0.05;

    public static AbVerdict Compare(IReadOnlyList<Arm> variants, Arm holdout)
    {
        if (variants.Count == 0) return new AbVerdict(null, null, null, null);
        // Ties resolve by key so the verdict is the same on every read.
        var ranked = variants.OrderByDescending(v => v.Rate).ThenBy(v => v.Key, StringComparer.Ordinal).ToList();
        var best = ranked[0];
        var vsNext = ranked.Count > 1 ? TwoProportionPValue(best, ranked[1]) : null;
        var vsHoldout = TwoProportionPValue(best, holdout);
        // With a single variant there is no "next": only the holdout decides.
        var nextOk = ranked.Count == 1 || vsNext < Significance;
        var winner = nextOk && vsHoldout < Significance && best.Rate > holdout.Rate ? best.Key : null;
        return new AbVerdict(best.Key, vsNext, vsHoldout, winner);
    }

    /// <summary>Lift of a rate over the holdout's: (rate − holdout) / holdout; null when the holdout converted nobody.</summary>
    public static double? Lift(double rate, double holdoutRate) => holdoutRate > 0 ? (rate - holdoutRate) / holdoutRate : null;

    /// <summary>
    /// Two-sided p-value of the pooled two-proportion z-test; null when either arm is empty. When nobody (or everybody)
    /// converted in both arms the proportions cannot differ: p = 1.
    /// </summary>
    public static double? TwoProportionPValue(Arm a, Arm b)
    {
        if (a.People == 0 || b.People == 0) return null;
        var pooled = (double)(a.Converted + b.Converted) / (a.People + b.People);
        var variance = pooled * (1 - pooled) * (1.0 / a.People + 1.0 / b.People);
        if (variance <= 0) return 1.0;
        var z = (a.Rate - b.Rate) / Math.Sqrt(variance);
        return TwoSidedP(z);
    }

    /// <summary>P(|Z| ≥ |z|) for a standard normal Z: erfc(|z| / √2).</summary>
    public static double TwoSidedP(double z) => Math.Min(1.0, Erfc(Math.Abs(z) / Math.Sqrt(2)));

    /// <summary>
    /// The complementary error function by the Chebyshev fit of Numerical Recipes (erfcc): fractional error below 1.2e-7
    /// everywhere, ample for p-values compared with 0.05.
    /// </summary>
    public static double Erfc(double x)
    {
        var z = Math.Abs(x);
        var t = 1.0 / (1.0 + 0.5 * z);
        var r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2.0 - r;
    }
}
