using System.Buffers;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// The rules applied to a whole batch of one subject's movements at once, with the same findings as calling
/// <see cref="Evaluate"/> for each movement (in time order) and joining what fired: per rule the union of the hit movements
/// and the detail of the last movement that fired it.
/// </summary>
/// <remarks>
/// Why: <see cref="Evaluate"/> filters the subject's whole window for every movement, several times (issue 13, session 9:
/// about half of the server's CPU per secure transfer in the bench, where each of 200 people has hundreds of movements in
/// the window). Here the window is sorted once, every rule's question about a movement is a time range of it (the movements
/// up to this one: the day so far, the last hour, ...) answered by prefix counts and sums in O(log n), and the movements a
/// rule names are read once per batch from the union of the ranges it fired on. What each rule counts and compares is the
/// same as in <see cref="Evaluate"/> (same predicates, same inclusive/exclusive bounds; only CNY counts);
/// AmlBatchRulesTests compares both on random histories.
/// </remarks>
internal sealed partial class AmlRules
{
    /// <summary>What one rule found over a batch: the movements (in window order) and the detail of its last firing.</summary>
    internal sealed record BatchFinding(RiskRule Rule, List<AmlMovement> Movements, string Detail);

    /// <param name="history">The subject's movements, sorted by (time, id), including every movement of <paramref name="batch"/>.</param>
    /// <param name="batch">The batch's movements of this subject, sorted by time.</param>
    /// <param name="lastBeforeDay">When the subject last moved money before the China day (of a batch movement) began, by date; null if never.</param>
    /// <param name="dailyCap">The subject's daily tier cap where one applies.</param>
    /// <returns>The rules that fired, in the order they first fired.</returns>
    public List<BatchFinding> EvaluateBatch(IReadOnlyList<AmlMovement> history, IReadOnlyList<AmlMovement> batch,
        Func<string, long?> lastBeforeDay, long? dailyCap)
    {
        var n = history.Count;
        var findings = new List<BatchFinding>();
        if (batch.Count == 0) return findings;
        var type = batch[0].SubjectType;
        var thresholds = StructuringThresholds(type, dailyCap);
        var largeThreshold = LargeValueThreshold(type);

        // Prefix counts and sums over the CNY movements of the window: p[i] covers history[0..i); one pooled array per batch
        // and subject (a window holds hundreds of movements, evaluated every batch).
        var p = ArrayPool<Prefix>.Shared.Rent(n + 1);
        try
        {
            return Evaluate(history, batch, lastBeforeDay, thresholds, largeThreshold, p);
        }
        finally
        {
            ArrayPool<Prefix>.Shared.Return(p);
        }
    }

    /// <summary>Counts and sums of the CNY movements before an index of the window, and the next CNY (received) one from it.</summary>
    private struct Prefix
    {
        public int OutCount, BandCount, RecvCount, NextCny, NextRecv;
        public long OutSum, RepInSum, RepOutSum, RecvSum, AllSum;
    }

    private List<BatchFinding> Evaluate(IReadOnlyList<AmlMovement> history, IReadOnlyList<AmlMovement> batch, Func<string, long?> lastBeforeDay,
        long[] thresholds, long largeThreshold, Prefix[] p)
    {
        var n = history.Count;
        var findings = new List<BatchFinding>();
        p[0] = default;
        for (var i = 0; i < n; i++)
        {
            var h = history[i];
            var cny = h.Currency == Cny;
            var isOut = cny && h.Direction == Direction.Out;
            var recv = cny && h.Received;
            ref readonly var a = ref p[i];
            p[i + 1] = new Prefix
            {
                OutCount = a.OutCount + (isOut ? 1 : 0),
                OutSum = checked(a.OutSum + (isOut ? h.AmountMinor : 0)),
                RepInSum = checked(a.RepInSum + (cny && h.Reportable && h.Direction == Direction.In ? h.AmountMinor : 0)),
                RepOutSum = checked(a.RepOutSum + (isOut && h.Reportable ? h.AmountMinor : 0)),
                BandCount = a.BandCount + (isOut && h.Reportable && InStructuringBand(h.AmountMinor, thresholds) ? 1 : 0),
                RecvCount = a.RecvCount + (recv ? 1 : 0),
                RecvSum = checked(a.RecvSum + (recv ? h.AmountMinor : 0)),
                AllSum = checked(a.AllSum + (cny ? h.AmountMinor : 0)),
            };
        }
        p[n].NextCny = n;
        p[n].NextRecv = n;
        for (var i = n - 1; i >= 0; i--)
        {
            p[i].NextCny = history[i].Currency == Cny ? i : p[i + 1].NextCny;
            p[i].NextRecv = history[i].Currency == Cny && history[i].Received ? i : p[i + 1].NextRecv;
        }

        // Per rule (and part of a rule with its own filter): the index ranges [lo, hi) it fired on.
        var ranges = new Dictionary<Part, List<(int Lo, int Hi)>>();
        var details = new Dictionary<RiskRule, string>();
        var order = new List<RiskRule>();
        void Fired(RiskRule rule, string detail, params (Part Part, int Lo, int Hi)[] parts)
        {
            if (!details.ContainsKey(rule)) order.Add(rule);
            details[rule] = detail;
            foreach (var (part, lo, hi) in parts)
            {
                if (!ranges.TryGetValue(part, out var list)) ranges[part] = list = [];
                list.Add((lo, hi));
            }
        }

        foreach (var m in batch)
        {
            if (m.Currency != Cny) continue;
            // seen = history[0..hi): every movement up to this one's time.
            var hi = UpperBound(history, m.AtUs);
            var day = m.ChinaDate;
            var dayLo = LowerBound(history, AmlNames.ChinaDayStartUs(m.AtUs));
            if (m.Reportable)
            {
                var total = m.Direction == Direction.In ? p[hi].RepInSum - p[dayLo].RepInSum : p[hi].RepOutSum - p[dayLo].RepOutSum;
                if (total >= largeThreshold)
                    Fired(RiskRule.LargeValue, LargeValueDetail(m.Direction, total, day, largeThreshold),
                        (m.Direction == Direction.In ? Part.LargeValueIn : Part.LargeValueOut, dayLo, hi));
            }
            if (m.Direction == Direction.Out && m.Reportable && InStructuringBand(m.AmountMinor, thresholds))
            {
                var lo = UpperBound(history, m.AtUs - Options.StructuringWindowHours * 3_600_000_000L);
                var count = p[hi].BandCount - p[lo].BandCount;
                if (count >= Options.StructuringCount) Fired(RiskRule.Structuring, StructuringDetail(count, thresholds), (Part.Structuring, lo, hi));
            }
            if (m.Direction == Direction.Out)
            {
                var lo = UpperBound(history, m.AtUs - Options.VelocityWindowMinutes * 60_000_000L);
                var count = p[hi].OutCount - p[lo].OutCount;
                if (count > Options.VelocityCountMax) Fired(RiskRule.Velocity, VelocityDetail(count), (Part.Velocity, lo, hi));

                var recvLo = LowerBound(history, m.AtUs - Options.PassThroughWindowMinutes * 60_000_000L);
                var firstRecv = p[recvLo].NextRecv;
                if (firstRecv < hi)
                {
                    var sentLo = LowerBound(history, history[firstRecv].AtUs);
                    long inTotal = p[hi].RecvSum - p[recvLo].RecvSum, outTotal = p[hi].OutSum - p[sentLo].OutSum;
                    if (outTotal >= Options.PassThroughMinMinor && outTotal * 100 >= inTotal * Options.PassThroughPercent)
                        Fired(RiskRule.PassThrough, PassThroughDetail(outTotal, inTotal), (Part.PassThroughIn, recvLo, hi), (Part.PassThroughOut, sentLo, hi));
                }
            }
            if (lastBeforeDay(day) is { } last)
            {
                var first = p[dayLo].NextCny;
                if (first < hi)
                {
                    var idle = TimeSpan.FromTicks((history[first].AtUs - last) * 10);
                    var total = p[hi].AllSum - p[dayLo].AllSum;
                    if (idle >= TimeSpan.FromDays(Options.DormantDays) && total >= Options.DormantActiveMinor)
                        Fired(RiskRule.DormantActive, DormantDetail(total, day, idle), (Part.Dormant, dayLo, hi));
                }
            }
        }

        foreach (var rule in order)
        {
            var picked = new bool[n];
            foreach (var part in Parts(rule))
            {
                if (!ranges.TryGetValue(part, out var list)) continue;
                foreach (var (lo, hi) in Merge(list))
                {
                    for (var i = lo; i < hi; i++)
                    {
                        if (!picked[i] && Counts(part, history[i], thresholds)) picked[i] = true;
                    }
                }
            }
            var movements = new List<AmlMovement>(picked.Count(x => x));
            for (var i = 0; i < n; i++)
                if (picked[i]) movements.Add(history[i]);
            findings.Add(new BatchFinding(rule, movements, details[rule]));
        }
        return findings;
    }

    private enum Part { LargeValueIn, LargeValueOut, Structuring, Velocity, PassThroughIn, PassThroughOut, Dormant }

    private static Part[] Parts(RiskRule rule) => rule switch
    {
        RiskRule.LargeValue => [Part.LargeValueIn, Part.LargeValueOut],
        RiskRule.Structuring => [Part.Structuring],
        RiskRule.Velocity => [Part.Velocity],
        RiskRule.PassThrough => [Part.PassThroughIn, Part.PassThroughOut],
        RiskRule.DormantActive => [Part.Dormant],
        _ => [],
    };

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

    private static IEnumerable<(int Lo, int Hi)> Merge(List<(int Lo, int Hi)> ranges)
    {
        ranges.Sort((a, b) => a.Lo.CompareTo(b.Lo));
        var (lo, hi) = ranges[0];
        foreach (var (l, h) in ranges)
        {
            if (l <= hi)
            {
                hi = Math.Max(hi, h);
                continue;
            }
            yield return (lo, hi);
            (lo, hi) = (l, h);
        }
        yield return (lo, hi);
    }

    /// <summary>The first index whose time is at or after <paramref name="atUs"/>.</summary>
    private static int LowerBound(IReadOnlyList<AmlMovement> sorted, long atUs)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid].AtUs < atUs) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>The first index whose time is after <paramref name="atUs"/>.</summary>
    private static int UpperBound(IReadOnlyList<AmlMovement> sorted, long atUs)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid].AtUs <= atUs) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
