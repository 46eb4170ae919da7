using Qianbao.Server.Modules.Risk;

namespace Qianbao.Server.Tests.Risk;

/// <summary>
/// <see cref="AmlRules.EvaluateBatch"/> finds exactly what <see cref="AmlRules.Evaluate"/> finds movement by movement (the
/// subscriber's former loop: each batch movement against the window up to it, hits joined per rule, the last detail), on
/// random histories with thresholds small enough that every rule fires often, ties in time, other currencies and days; and
/// that a window kept across many batches (the subscriber's <see cref="AmlWindows.Window"/>: appended series, marks, the
/// recorded hits changed in place, old movements dropped) sends exactly the hits evaluating each batch from scratch sends.
/// </summary>
public sealed class AmlBatchRulesTests
{
    private static readonly AmlOptions Options = new()
    {
        LargeValuePersonMinor = 20_000, LargeValueMerchantMinor = 40_000, StructuringCount = 3, StructuringBandPercent = 80,
        StructuringWindowHours = 3, VelocityCountMax = 3, VelocityWindowMinutes = 40, PassThroughPercent = 70, PassThroughWindowMinutes = 25,
        PassThroughMinMinor = 3_000, DormantDays = 1, DormantActiveMinor = 8_000,
    };

    /// <summary>A movement of a random kind, direction and currency, its amount often near a rule's threshold.</summary>
    private static AmlMovement RandomMovement(Random random, SubjectType type, Guid subject, long atUs)
    {
        var kind = (MovementKind)random.Next(6);
        var amount = random.Next(4) switch
        {
            0 => random.Next(1, 2_000),
            1 => Options.LargeValuePersonMinor * random.Next(80, 101) / 100,
            2 => random.Next(1, 8) * 1_000L,
            _ => random.NextInt64(1, 30_000),
        };
        return new AmlMovement(Guid.NewGuid(), Guid.NewGuid(), type, subject, random.Next(2) == 0 ? Direction.In : Direction.Out, kind,
            amount, random.Next(10) == 0 ? "USD" : "CNY", null, "ref", atUs);
    }

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
                history.Add(RandomMovement(random, type, subject, at));
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

    /// <summary>
    /// One subject's stream in many batches, as the subscriber sees it: mostly in time order with ties, sometimes a movement
    /// that occurred before one delivered ahead of it, sometimes a batch delivered twice, the cap changing now and then, a
    /// window not kept after some commits. Expected per batch: each movement evaluated from scratch over the log so far
    /// (<see cref="AmlRules.Evaluate"/>), hits joined per rule, less those already recorded; actual: the kept window's path
    /// (append when the batch comes after the window's last movement, else build from the log and its recorded hits).
    /// </summary>
    [Fact]
    public void AWindowKeptAcrossBatchesSendsTheHitsEvaluatingFromScratchSends()
    {
        var rules = new AmlRules(Options);
        var lookBack = (long)Options.HistoryWindow.TotalMicroseconds;
        var random = new Random(1213);
        var fired = new Dictionary<RiskRule, int>();
        int appended = 0, rebuilt = 0, compacted = 0, trimmed = 0;
        for (var round = 0; round < 250; round++)
        {
            var subject = Guid.NewGuid();
            var type = random.Next(4) == 0 ? SubjectType.Merchant : SubjectType.User;
            var start = 1_780_000_000_000_000L + random.NextInt64(86_400_000_000L);
            // Before the stream: a movement long ago (dormancy), or none ever.
            long? before = random.Next(3) == 0 ? null : start - random.NextInt64(1, 4 * 86_400_000_000L);
            // Dense or sparse: from a burst every few seconds to one every ~20 min on average, over up to ~3 days.
            var stepMaxUs = random.Next(2) == 0 ? 40 * 60_000_000L : random.Next(1, 300) * 1_000_000L;
            var n = random.Next(1, 450);
            var stream = new List<AmlMovement>();
            var at = start;
            for (var i = 0; i < n; i++)
            {
                at += random.Next(5) == 0 ? 0 : random.NextInt64(stepMaxUs);
                // Now and then one that occurred a little before the last one delivered.
                var skew = random.Next(25) == 0 ? random.NextInt64(1, 30 * 60_000_000L) : 0;
                stream.Add(RandomMovement(random, type, subject, at - skew));
            }

            // The log: stored movements by id and the recorded (rule, movement) hits.
            var stored = new Dictionary<Guid, AmlMovement>();
            var recorded = new HashSet<(RiskRule, Guid)>();
            long? cap = random.Next(3) == 0 ? random.Next(5_000, 15_000) : null;
            AmlWindows.Window? window = null;
            var version = 0L;
            var windowAppended = 0;
            var batchNo = 0;
            for (var i = 0; i < stream.Count; batchNo++)
            {
                var size = random.Next(1, random.Next(2) == 0 ? 4 : 25);
                var delivered = stream.Skip(i).Take(size).ToList();
                // Now and then the previous batch again (as after a crash between the commit and the checkpoint).
                if (i > 0 && random.Next(12) == 0) delivered = stream.Skip(Math.Max(0, i - size)).Take(size).ToList();
                else i += delivered.Count;
                if (random.Next(10) == 0) cap = random.Next(3) == 0 ? null : random.Next(5_000, 15_000);
                var ordered = delivered.OrderBy(m => m.AtUs).ToList();
                var log = stored.Values.Concat(ordered).DistinctBy(m => m.Id).OrderBy(m => m.AtUs).ToList();
                long? LastBeforeDay(string date)
                {
                    var dayStart = AmlNames.ChinaDayStartUs(ordered.First(m => m.ChinaDate == date).AtUs);
                    var last = log.Where(m => m.AtUs < dayStart).Select(m => (long?)m.AtUs).DefaultIfEmpty(null).Max();
                    return last ?? before;
                }

                // Expected: from scratch.
                var expected = new Dictionary<RiskRule, (HashSet<Guid> Movements, string Detail)>();
                var order = new List<RiskRule>();
                foreach (var m in ordered)
                {
                    var seen = log.Where(h => h.AtUs <= m.AtUs && h.AtUs > m.AtUs - lookBack).ToList();
                    foreach (var hit in rules.Evaluate(m, new SubjectHistory(seen, LastBeforeDay(m.ChinaDate), cap)))
                    {
                        if (!expected.TryGetValue(hit.Rule, out var acc)) { order.Add(hit.Rule); acc = ([], hit.Detail); }
                        acc.Movements.UnionWith(hit.Movements.Select(h => h.Id));
                        expected[hit.Rule] = (acc.Movements, hit.Detail);
                    }
                }
                var expectedFresh = order.ToDictionary(r => r, r => log.Where(h => expected[r].Movements.Contains(h.Id) && !recorded.Contains((r, h.Id)))
                    .Select(h => h.Id).Order().ToList());

                // Actual: the subscriber's path through the kept window.
                var needFrom = ordered[0].AtUs - lookBack;
                if (window is not null && window.FromUs <= needFrom && window.Series.CanAppend(ordered))
                {
                    foreach (var m in ordered) window.Series.Append(m);
                    windowAppended += ordered.Count;
                    appended++;
                }
                else
                {
                    var read = stored.Values.Where(m => m.AtUs >= needFrom).ToList();
                    read.Sort(AmlSubscriber.ByTimeThenId);
                    var all = AmlSubscriber.Merged(read, ordered);
                    var series = new AmlSeries(rules, rules.StructuringThresholds(type, cap), all.Count);
                    foreach (var m in all) series.Append(m);
                    var ids = all.Select(m => m.Id).ToHashSet();
                    window = new AmlWindows.Window(version, needFrom, series, [.. recorded.Where(h => ids.Contains(h.Item2))]);
                    windowAppended = all.Count;
                    rebuilt++;
                }
                var found = rules.EvaluateBatch(window.Series, ordered, LastBeforeDay, cap);
                var fresh = found.Select(f => (f.Rule, Hits: AmlSubscriber.FreshHits(f.Rule, f.Movements, window.Hits), f.Detail)).ToList();

                found.Select(f => f.Rule).ShouldBe(order, $"round {round} batch {batchNo}: the rules that fired, in order");
                foreach (var (rule, hits, detail) in fresh)
                {
                    detail.ShouldBe(expected[rule].Detail, $"round {round} batch {batchNo} {rule}");
                    hits.Select(h => h.MovementId).Order().ToList().ShouldBe(expectedFresh[rule], $"round {round} batch {batchNo} {rule}: the hits not recorded yet");
                    fired[rule] = fired.GetValueOrDefault(rule) + 1;
                }

                // The commit, then the window kept (or, now and then, not: another writer, an unknown outcome).
                foreach (var m in ordered) stored[m.Id] = m;
                foreach (var (rule, hits, _) in fresh) recorded.UnionWith(hits.Select(h => (rule, h.MovementId)));
                version++;
                if (random.Next(15) == 0)
                {
                    window = null;
                    continue;
                }
                window.Advance(version, Math.Max(window.FromUs, needFrom), fresh.SelectMany(f => f.Hits.Select(h => (f.Rule, h.MovementId))));
                if (window.Series.Start > 0) trimmed++;
                if (window.Series.Count < windowAppended)
                {
                    compacted++;
                    windowAppended = window.Series.Count;
                }
                // What the window holds is what the log holds from its start on, and the hits recorded for those.
                window.Series.Live.ShouldBe(stored.Values.Count(m => m.AtUs >= window.FromUs), $"round {round} batch {batchNo}: the window's movements");
                window.Hits.Count.ShouldBe(recorded.Count(h => stored[h.Item2].AtUs >= window.FromUs), $"round {round} batch {batchNo}: the window's hits");
            }
        }
        // Both paths ran often, old movements were dropped and the arrays compacted, and every rule fired through them.
        appended.ShouldBeGreaterThan(2_000);
        rebuilt.ShouldBeGreaterThan(500);
        trimmed.ShouldBeGreaterThan(500);
        compacted.ShouldBeGreaterThan(20);
        foreach (var rule in new[] { RiskRule.LargeValue, RiskRule.Structuring, RiskRule.Velocity, RiskRule.PassThrough, RiskRule.DormantActive })
            fired.GetValueOrDefault(rule).ShouldBeGreaterThan(100, $"{rule} fired in {fired.GetValueOrDefault(rule)} batches");
    }
}
