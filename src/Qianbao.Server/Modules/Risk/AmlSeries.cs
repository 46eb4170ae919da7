using Qianbao.Ledger;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// A subject's movements in time order with running counts and sums of its CNY movements (<see cref="Prefix"/>), so every
/// rule's question about a movement (the day so far, the last hour, ...) is two look-ups, and a "named through" mark per
/// rule part (<see cref="Marks"/>), so a rule that fires again names only the movements its earlier firings did not.
/// Append-only: a batch whose movements all come at or after the last one is appended in O(its own movements); one that
/// reaches back (an event that occurred before one delivered ahead of it, a redelivery) is refused by
/// <see cref="CanAppend"/> and the caller builds the series anew from the log.
/// </summary>
/// <remarks>
/// Movements of the same moment are kept in arrival order, not by id: no rule tells them apart, since every range a rule
/// asks about starts and ends at a time (<see cref="LowerBound"/>, <see cref="UpperBound"/>) and so holds all of a moment's
/// movements or none. Indices are positions in the arrays from <see cref="Start"/> to <see cref="Count"/>; dropping old
/// movements (<see cref="DropBefore"/>) only moves <see cref="Start"/> until more than half is dead, then compacts and
/// shifts the marks with the movements. Not thread-safe: one batch owns a series at a time (<see cref="AmlWindows.Take"/>).
/// </remarks>
internal sealed class AmlSeries
{
    /// <summary>Counts and sums of the CNY movements before an index (differences of two are a range's).</summary>
    internal struct Prefix
    {
        public int OutCount, BandCount, RecvCount, CnyCount;
        public long OutSum, RepInSum, RepOutSum, RecvSum, AllSum;
    }

    /// <summary>The parts of the rules that name movements, each with its own filter (<see cref="AmlRules"/>' Counts).</summary>
    internal enum Part { LargeValueIn, LargeValueOut, Structuring, Velocity, PassThroughIn, PassThroughOut, Dormant }

    internal const int PartCount = 7;

    private readonly AmlRules rules;
    private AmlMovement[] items;
    /// <summary>prefix[i] covers items[0..i) (since the last compaction, which subtracts what it drops).</summary>
    private Prefix[] prefix;
    private int start, count;

    /// <param name="thresholds">The structuring thresholds <see cref="Prefix.BandCount"/> counts below (<see cref="UseThresholds"/> changes them).</param>
    public AmlSeries(AmlRules rules, long[] thresholds, int capacity = 16)
    {
        this.rules = rules;
        Thresholds = thresholds;
        items = new AmlMovement[Math.Max(capacity, 4)];
        prefix = new Prefix[items.Length + 1];
    }

    public long[] Thresholds { get; private set; }

    /// <summary>
    /// Per <see cref="Part"/>: every movement the part counts from the start of its latest firing's range up to this index
    /// was named by an earlier firing (so it carries the hit, or will with this batch's). A part's ranges only move forward
    /// as time does (each starts at a time bound of the movement that fired it), so a firing names [max(lo, mark), hi) and
    /// moves the mark to hi. 0 when nothing is known: the whole range is named (and the recorded hits filter it).
    /// </summary>
    public int[] Marks { get; } = new int[PartCount];

    public int Start => start;

    public int Count => count;

    public int Live => count - start;

    public AmlMovement this[int i] => items[i];

    public ref readonly Prefix At(int i) => ref prefix[i];

    /// <summary>Whether every movement of <paramref name="batch"/> (sorted by time) comes at or after the last one held, none held already.</summary>
    public bool CanAppend(IReadOnlyList<AmlMovement> batch)
    {
        if (count == start || batch.Count == 0) return true;
        var last = items[count - 1].AtUs;
        if (batch[0].AtUs < last) return false;
        // A movement of the last moment may be a redelivered one: the moment's movements are few, so they are compared.
        for (var i = LowerBound(last); i < count; i++)
        {
            foreach (var m in batch)
            {
                if (m.AtUs != last) break;
                if (m.Id == items[i].Id) return false;
            }
        }
        return true;
    }

    public void Append(AmlMovement m)
    {
        Invariant.That(count == start || m.AtUs >= items[count - 1].AtUs, "an AML series is appended in time order");
        if (count == items.Length)
        {
            Array.Resize(ref items, items.Length * 2);
            Array.Resize(ref prefix, items.Length + 1);
        }
        items[count] = m;
        prefix[count + 1] = Next(prefix[count], m);
        count++;
    }

    private Prefix Next(in Prefix a, AmlMovement h)
    {
        var cny = h.Currency == "CNY";
        var isOut = cny && h.Direction == Direction.Out;
        var recv = cny && h.Received;
        return new Prefix
        {
            OutCount = a.OutCount + (isOut ? 1 : 0),
            OutSum = checked(a.OutSum + (isOut ? h.AmountMinor : 0)),
            RepInSum = checked(a.RepInSum + (cny && h.Reportable && h.Direction == Direction.In ? h.AmountMinor : 0)),
            RepOutSum = checked(a.RepOutSum + (isOut && h.Reportable ? h.AmountMinor : 0)),
            BandCount = a.BandCount + (isOut && h.Reportable && rules.InStructuringBand(h.AmountMinor, Thresholds) ? 1 : 0),
            RecvCount = a.RecvCount + (recv ? 1 : 0),
            RecvSum = checked(a.RecvSum + (recv ? h.AmountMinor : 0)),
            CnyCount = a.CnyCount + (cny ? 1 : 0),
            AllSum = checked(a.AllSum + (cny ? h.AmountMinor : 0)),
        };
    }

    /// <summary>
    /// Counts the structuring band below other thresholds (a person's daily cap changed): the counts are rebuilt, O(held), and
    /// structuring's mark forgotten (what it named was named under the old band).
    /// </summary>
    public void UseThresholds(long[] thresholds)
    {
        if (thresholds.AsSpan().SequenceEqual(Thresholds)) return;
        Thresholds = thresholds;
        for (var i = start; i < count; i++) prefix[i + 1] = Next(prefix[i], items[i]);
        Marks[(int)Part.Structuring] = 0;
    }

    /// <summary>Drops the movements before <paramref name="fromUs"/> and answers them (their hits go with them).</summary>
    public ReadOnlySpan<AmlMovement> DropBefore(long fromUs)
    {
        var from = LowerBound(fromUs);
        var dropped = items.AsSpan(start, from - start);
        start = from;
        if (start > 64 && start > count / 2) return Compact(dropped);
        return dropped;
    }

    /// <summary>
    /// Moves the live movements to the front (marks shifted with them; prefix values rebased, which only keeps them small, as
    /// the rules read differences); answers a copy of what was dropped.
    /// </summary>
    private ReadOnlySpan<AmlMovement> Compact(ReadOnlySpan<AmlMovement> dropped)
    {
        var gone = dropped.ToArray();
        var live = count - start;
        var at = prefix[start];
        Array.Copy(items, start, items, 0, live);
        Array.Clear(items, live, count - live);
        for (var i = 0; i <= live; i++)
        {
            var p = prefix[start + i];
            prefix[i] = new Prefix
            {
                OutCount = p.OutCount - at.OutCount, BandCount = p.BandCount - at.BandCount, RecvCount = p.RecvCount - at.RecvCount,
                CnyCount = p.CnyCount - at.CnyCount, OutSum = p.OutSum - at.OutSum, RepInSum = p.RepInSum - at.RepInSum,
                RepOutSum = p.RepOutSum - at.RepOutSum, RecvSum = p.RecvSum - at.RecvSum, AllSum = p.AllSum - at.AllSum,
            };
        }
        for (var k = 0; k < Marks.Length; k++) Marks[k] = Math.Max(0, Marks[k] - start);
        count = live;
        start = 0;
        return gone;
    }

    /// <summary>The first index in [Start, Count) whose time is at or after <paramref name="atUs"/> (Count if none).</summary>
    public int LowerBound(long atUs)
    {
        int lo = start, hi = count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (items[mid].AtUs < atUs) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>The first index in [Start, Count) whose time is after <paramref name="atUs"/> (Count if none).</summary>
    public int UpperBound(long atUs)
    {
        int lo = start, hi = count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (items[mid].AtUs <= atUs) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>The first index in [lo, hi) where the running count passes its value at lo (hi if none): the next CNY, or received, movement.</summary>
    public int NextWhere(int lo, int hi, bool received)
    {
        var at = received ? prefix[lo].RecvCount : prefix[lo].CnyCount;
        int a = lo, b = hi;
        // The smallest i in [lo, hi) with count(prefix[i + 1]) > at.
        while (a < b)
        {
            var mid = (a + b) >>> 1;
            var c = received ? prefix[mid + 1].RecvCount : prefix[mid + 1].CnyCount;
            if (c > at) b = mid;
            else a = mid + 1;
        }
        return a;
    }
}
