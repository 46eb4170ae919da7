using static Qianbao.Server.Modules.Risk.AmlSeries;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// The rules applied to a whole batch of one subject's movements at once, with the same findings as calling
/// <see cref="Evaluate"/> for each movement (in time order) and joining what fired: per rule the union of the hit movements
/// and the detail of the last movement that fired it.
/// </summary>
/// <remarks>
/// Why: <see cref="Evaluate"/> filters the subject's whole window for every movement, several times (issue 13, session 9:
/// about half of the server's CPU per secure transfer in the bench, where each of 200 people has hundreds of movements in
/// the window). Here the window is an <see cref="AmlSeries"/> (time order, running counts and sums, kept across batches by
/// the subscriber), every rule's question about a movement is a time range of it answered in O(log n), and a firing names
/// only the movements of its range past the part's mark (<see cref="AmlSeries.Marks"/>): the ones earlier firings named
/// are recorded already. So a batch costs O(its own movements and what they newly name), not O(window). What each rule
/// counts and compares is the same as in <see cref="Evaluate"/> (same predicates, same inclusive/exclusive bounds; only CNY
/// counts); AmlBatchRulesTests compares both on random histories, from scratch and through a series kept over many batches.
/// </remarks>
internal sealed partial class AmlRules
{
    /// <summary>What one rule found over a batch: the movements it named (not yet named through the series' marks) and the detail of its last firing.</summary>
    internal sealed record BatchFinding(RiskRule Rule, List<AmlMovement> Movements, string Detail);

    /// <summary>From scratch: <paramref name="history"/> is the subject's movements sorted by time, including every movement of <paramref name="batch"/>.</summary>
    /// <param name="batch">The batch's movements of this subject, sorted by time.</param>
    /// <param name="lastBeforeDay">When the subject last moved money before the China day (of a batch movement) began, by date; null if never.</param>
    /// <param name="dailyCap">The subject's daily tier cap where one applies.</param>
    /// <returns>The rules that fired, in the order they first fired, each with every movement it names.</returns>
    public List<BatchFinding> EvaluateBatch(IReadOnlyList<AmlMovement> history, IReadOnlyList<AmlMovement> batch,
        Func<string, long?> lastBeforeDay, long? dailyCap)
    {
        if (batch.Count == 0) return [];
        var series = new AmlSeries(this, StructuringThresholds(batch[0].SubjectType, dailyCap), history.Count);
        foreach (var h in history) series.Append(h);
        return EvaluateBatch(series, batch, lastBeforeDay, dailyCap);
    }

    /// <param name="series">The subject's movements (every movement of <paramref name="batch"/> among them); its marks move forward.</param>
    /// <returns>The rules that fired, in the order they first fired, each with the movements past the marks it names.</returns>
    public List<BatchFinding> EvaluateBatch(AmlSeries series, IReadOnlyList<AmlMovement> batch, Func<string, long?> lastBeforeDay, long? dailyCap)
    {
        var findings = new List<BatchFinding>();
        if (batch.Count == 0) return findings;
        var type = batch[0].SubjectType;
        // The band only matters to a batch with outgoing movements (structuring looks at nothing else): a batch of receipts
        // keeps the series' thresholds rather than rebuilding its counts for a cap it does not use.
        if (batch.Any(m => m.Direction == Direction.Out)) series.UseThresholds(StructuringThresholds(type, dailyCap));
        var thresholds = series.Thresholds;
        var largeThreshold = LargeValueThreshold(type);

        var named = new Dictionary<RiskRule, (List<AmlMovement> Movements, string Detail)>();
        var order = new List<RiskRule>();
        void Fired(RiskRule rule, string detail, Part part, int lo, int hi, Part? second = null, int lo2 = 0)
        {
            if (!named.TryGetValue(rule, out var found))
            {
                order.Add(rule);
                found = ([], detail);
            }
            Name(part, lo, hi, found.Movements);
            if (second is { } p2) Name(p2, lo2, hi, found.Movements);
            named[rule] = (found.Movements, detail);
        }
        void Name(Part part, int lo, int hi, List<AmlMovement> into)
        {
            ref var mark = ref series.Marks[(int)part];
            for (var i = Math.Max(lo, mark); i < hi; i++)
            {
                if (Counts(part, series[i], thresholds)) into.Add(series[i]);
            }
            mark = Math.Max(mark, hi);
        }

        foreach (var m in batch)
        {
            if (m.Currency != Cny) continue;
            // seen = series[Start..hi): every movement up to this one's time.
            var hi = series.UpperBound(m.AtUs);
            ref readonly var ph = ref series.At(hi);
            var day = m.ChinaDate;
            var dayLo = series.LowerBound(AmlNames.ChinaDayStartUs(m.AtUs));
            ref readonly var pDay = ref series.At(dayLo);
            if (m.Reportable)
            {
                var total = m.Direction == Direction.In ? ph.RepInSum - pDay.RepInSum : ph.RepOutSum - pDay.RepOutSum;
                if (total >= largeThreshold)
                    Fired(RiskRule.LargeValue, LargeValueDetail(m.Direction, total, day, largeThreshold),
                        m.Direction == Direction.In ? Part.LargeValueIn : Part.LargeValueOut, dayLo, hi);
            }
            if (m.Direction == Direction.Out && m.Reportable && InStructuringBand(m.AmountMinor, thresholds))
            {
                var lo = series.UpperBound(m.AtUs - Options.StructuringWindowHours * 3_600_000_000L);
                var count = ph.BandCount - series.At(lo).BandCount;
                if (count >= Options.StructuringCount) Fired(RiskRule.Structuring, StructuringDetail(count, thresholds), Part.Structuring, lo, hi);
            }
            if (m.Direction == Direction.Out)
            {
                var lo = series.UpperBound(m.AtUs - Options.VelocityWindowMinutes * 60_000_000L);
                var count = ph.OutCount - series.At(lo).OutCount;
                if (count > Options.VelocityCountMax) Fired(RiskRule.Velocity, VelocityDetail(count), Part.Velocity, lo, hi);

                var recvLo = series.LowerBound(m.AtUs - Options.PassThroughWindowMinutes * 60_000_000L);
                var firstRecv = series.NextWhere(recvLo, hi, received: true);
                if (firstRecv < hi)
                {
                    var sentLo = series.LowerBound(series[firstRecv].AtUs);
                    long inTotal = ph.RecvSum - series.At(recvLo).RecvSum, outTotal = ph.OutSum - series.At(sentLo).OutSum;
                    if (outTotal >= Options.PassThroughMinMinor && outTotal * 100 >= inTotal * Options.PassThroughPercent)
                        Fired(RiskRule.PassThrough, PassThroughDetail(outTotal, inTotal), Part.PassThroughIn, recvLo, hi, Part.PassThroughOut, sentLo);
                }
            }
            if (lastBeforeDay(day) is { } last)
            {
                var first = series.NextWhere(dayLo, hi, received: false);
                if (first < hi)
                {
                    var idle = TimeSpan.FromTicks((series[first].AtUs - last) * 10);
                    var total = ph.AllSum - pDay.AllSum;
                    if (idle >= TimeSpan.FromDays(Options.DormantDays) && total >= Options.DormantActiveMinor)
                        Fired(RiskRule.DormantActive, DormantDetail(total, day, idle), Part.Dormant, dayLo, hi);
                }
            }
        }

        foreach (var rule in order)
        {
            var (movements, detail) = named[rule];
            findings.Add(new BatchFinding(rule, movements, detail));
        }
        return findings;
    }

    /// <summary>Whether a movement in a fired range is one the rule names (the same filters as <see cref="Evaluate"/>).</summary>
    private bool Counts(Part part, AmlMovement h, long[] thresholds) => h.Currency == Cny && part switch
    {
        Part.LargeValueIn => h.Reportable && h.Direction == Direction.In,
        Part.LargeValueOut => h.Reportable && h.Direction == Direction.Out,
        Part.Structuring => h.Direction == Direction.Out && h.Reportable && InStructuringBand(h.AmountMinor, thresholds),
        Part.Velocity => h.Direction == Direction.Out,
        Part.PassThroughIn => h.Received,
        Part.PassThroughOut => h.Direction == Direction.Out,
        Part.Dormant => true,
        _ => false,
    };
}
