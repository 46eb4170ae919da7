using Qianbao.Server.Modules.Risk;

namespace Qianbao.Server.Tests.Risk;

/// <summary>
/// <see cref="AmlRules.EvaluateBatch"/> finds exactly what <see cref="AmlRules.Evaluate"/> finds movement by movement (the
/// subscriber's former loop: each batch movement against the window up to it, hits joined per rule, the last detail), on
/// random histories with thresholds small enough that every rule fires often, ties in time, other currencies and days.
/// </summary>
public sealed class AmlBatchRulesTests
{
    private static readonly AmlOptions Options = new()
    {
        LargeValuePersonMinor = 20_000, LargeValueMerchantMinor = 40_000, StructuringCount = 3, StructuringBandPercent = 80,
        StructuringWindowHours = 3, VelocityCountMax = 3, VelocityWindowMinutes = 40, PassThroughPercent = 70, PassThroughWindowMinutes = 25,
        PassThroughMinMinor = 3_000, DormantDays = 1, DormantActiveMinor = 8_000,
    };

    [Fact]
    public void TheBatchFindsWhatEachMovementFound()
    {
        var rules = new AmlRules(Options);
        var random = new Random(13);
        var fired = new Dictionary<RiskRule, int>();
        for (var round = 0; round < 3_000; round++)
        {
            var subject = Guid.NewGuid();
            var type = random.Next(4) == 0 ? SubjectType.Merchant : SubjectType.User;
            var start = 1_780_000_000_000_000L + random.NextInt64(86_400_000_000L);
            var n = random.Next(1, 70);
            var history = new List<AmlMovement>();
            for (var i = 0; i < n; i++)
            {
                // Minutes apart, sometimes the same moment, over up to ~2 days (several China days).
                var at = start + random.Next(random.Next(2) == 0 ? 240 : 3_000) * 60_000_000L;
                var kind = (MovementKind)random.Next(6);
                var amount = random.Next(4) switch
                {
                    0 => random.Next(1, 2_000),
                    1 => Options.LargeValuePersonMinor * random.Next(80, 101) / 100,
                    2 => random.Next(1, 8) * 1_000L,
                    _ => random.NextInt64(1, 30_000),
                };
                history.Add(new AmlMovement(Guid.NewGuid(), Guid.NewGuid(), type, subject, random.Next(2) == 0 ? Direction.In : Direction.Out, kind,
                    amount, random.Next(10) == 0 ? "USD" : "CNY", null, "ref", at));
            }
            history.Sort((a, b) => a.AtUs != b.AtUs ? a.AtUs.CompareTo(b.AtUs) : a.Id.CompareTo(b.Id));
            var batch = history.Where(_ => random.Next(3) > 0).OrderBy(_ => random.Next()).OrderBy(m => m.AtUs).ToList();
            if (batch.Count == 0) batch.Add(history[^1]);
            long? cap = random.Next(3) == 0 ? random.Next(5_000, 15_000) : null;
            var lasts = new Dictionary<string, long?>();
            long? LastBeforeDay(string date)
            {
                if (!lasts.TryGetValue(date, out var last))
                    lasts[date] = last = random.Next(3) == 0 ? null : start - random.NextInt64(3 * 86_400_000_000L);
                return last;
            }

            var expected = new Dictionary<RiskRule, (Dictionary<Guid, AmlMovement> Movements, string Detail)>();
            foreach (var m in batch)
            {
                var seen = history.Where(h => h.AtUs <= m.AtUs).ToList();
                foreach (var hit in rules.Evaluate(m, new SubjectHistory(seen, LastBeforeDay(m.ChinaDate), cap)))
                {
                    if (!expected.TryGetValue(hit.Rule, out var acc)) expected[hit.Rule] = acc = (new Dictionary<Guid, AmlMovement>(), hit.Detail);
                    foreach (var h in hit.Movements) acc.Movements[h.Id] = h;
                    expected[hit.Rule] = acc with { Detail = hit.Detail };
                }
            }

            var actual = rules.EvaluateBatch(history, batch, LastBeforeDay, cap);
            actual.Select(f => f.Rule).ShouldBe(expected.Keys, $"round {round}: the rules that fired, in order");
            foreach (var f in actual)
            {
                f.Detail.ShouldBe(expected[f.Rule].Detail, $"round {round} {f.Rule}");
                f.Movements.Select(h => h.Id).Order().ShouldBe(expected[f.Rule].Movements.Keys.Order(), $"round {round} {f.Rule}");
                fired[f.Rule] = fired.GetValueOrDefault(f.Rule) + 1;
            }
        }
        // Every rule had its chance: the thresholds above make findings common.
        foreach (var rule in new[] { RiskRule.LargeValue, RiskRule.Structuring, RiskRule.Velocity, RiskRule.PassThrough, RiskRule.DormantActive })
            fired.GetValueOrDefault(rule).ShouldBeGreaterThan(100, $"{rule} fired in {fired.GetValueOrDefault(rule)} rounds");
    }
}
