using Qianbao.Server.Modules.Notifications.Campaigns;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>The z-test, erfc and verdict against values computed by hand (and checked with Python's math.erfc).</summary>
public sealed class CampaignStatisticsTests
{
    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(0.5, 0.4795001221869535)]
    [InlineData(1.0, 0.15729920705028513)]
    [InlineData(2.0, 0.004677734981047265)]
    [InlineData(-1.0, 1.8427007929497148)]
    public void Erfc_is_within_its_stated_accuracy(double x, double expected) =>
        Math.Abs(CampaignStatistics.Erfc(x) - expected).ShouldBeLessThan(1.2e-7 * expected + 1e-12);

    [Fact]
    public void Sixty_versus_forty_of_a_thousand_is_z_2_052_and_p_0_0402()
    {
        // p̂ = 100/2000 = 0.05; se = √(0.05 · 0.95 · (1/1000 + 1/1000)) = √0.000095 = 0.0097468; z = 0.02 / 0.0097468 = 2.05196;
        // p = erfc(2.05196 / √2) = 0.040174.
        var p = CampaignStatistics.TwoProportionPValue(new Arm("a", 1000, 60), new Arm("b", 1000, 40))!.Value;
        p.ShouldBe(0.04017387, 1e-6);
    }

    [Fact]
    public void Hundred_twenty_versus_sixty_of_a_thousand_is_p_2_76e_6()
    {
        // p̂ = 0.09; se = √(0.09 · 0.91 · 0.002) = 0.012798; z = 0.06 / 0.012798 = 4.68807; p = 2.7579e-6.
        var p = CampaignStatistics.TwoProportionPValue(new Arm("a", 1000, 120), new Arm("b", 1000, 60))!.Value;
        p.ShouldBe(2.7579057e-6, 1e-9);
    }

    [Fact]
    public void Equal_rates_give_p_one_and_empty_arms_no_p()
    {
        CampaignStatistics.TwoProportionPValue(new Arm("a", 500, 50), new Arm("b", 500, 50)).ShouldBe(1.0);
        CampaignStatistics.TwoProportionPValue(new Arm("a", 500, 0), new Arm("b", 300, 0)).ShouldBe(1.0);
        CampaignStatistics.TwoProportionPValue(new Arm("a", 500, 5), new Arm("b", 0, 0)).ShouldBeNull();
    }

    [Fact]
    public void A_clearly_better_variant_wins_only_when_it_beats_both_the_next_and_the_holdout()
    {
        var holdout = new Arm("holdout", 1000, 40);
        var wins = CampaignStatistics.Compare([new Arm("a", 1000, 60), new Arm("b", 1000, 120)], holdout);
        wins.Best.ShouldBe("b");
        wins.Winner.ShouldBe("b");
        wins.PValueVsNext!.Value.ShouldBe(2.7579057e-6, 1e-9);

        // b beats the holdout but not a: no winner.
        var close = CampaignStatistics.Compare([new Arm("a", 1000, 115), new Arm("b", 1000, 120)], holdout);
        close.Best.ShouldBe("b");
        close.PValueVsNext!.Value.ShouldBeGreaterThan(0.05);
        close.PValueVsHoldout!.Value.ShouldBeLessThan(0.05);
        close.Winner.ShouldBeNull();

        // Equal variants: no winner.
        CampaignStatistics.Compare([new Arm("a", 1000, 100), new Arm("b", 1000, 100)], holdout).Winner.ShouldBeNull();
    }

    [Fact]
    public void Lift_is_relative_to_the_holdout_and_null_without_holdout_conversions()
    {
        CampaignStatistics.Lift(0.06, 0.04)!.Value.ShouldBe(0.5, 1e-12);
        CampaignStatistics.Lift(0.06, 0).ShouldBeNull();
    }

    [Fact]
    public void Variant_assignment_is_deterministic_and_follows_weights_and_holdout()
    {
        var campaign = Guid.NewGuid();
        var variants = new List<Variant> { new("a", 3, "t", "b"), new("b", 1, "t", "b") };
        var users = Enumerable.Range(0, 20_000).Select(_ => Guid.NewGuid()).ToList();
        var first = users.Select(u => VariantAssignment.Assign(campaign, u, 1000, variants)).ToList();
        users.Select(u => VariantAssignment.Assign(campaign, u, 1000, variants)).ShouldBe(first);
        var holdout = first.Count(k => k is null) / 20_000.0;
        var a = first.Count(k => k == "a") / 20_000.0;
        holdout.ShouldBe(0.10, 0.01);
        a.ShouldBe(0.9 * 0.75, 0.015);
        // Another campaign shuffles people anew.
        var other = Guid.NewGuid();
        users.Select(u => VariantAssignment.Assign(other, u, 1000, variants)).SequenceEqual(first).ShouldBeFalse();
    }
}
