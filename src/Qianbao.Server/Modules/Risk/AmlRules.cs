namespace Qianbao.Server.Modules.Risk;

/// <summary>The rules of a case; written in answers by their snake_case names.</summary>
internal enum RiskRule { LargeValue, Structuring, Velocity, PassThrough, DormantActive, Watchlist }

internal static class RiskRules
{
    public static readonly IReadOnlyList<RiskRule> All = Enum.GetValues<RiskRule>();

    public static string Name(RiskRule rule) => rule switch
    {
        RiskRule.LargeValue => "large_value",
        RiskRule.Structuring => "structuring",
        RiskRule.Velocity => "velocity",
        RiskRule.PassThrough => "pass_through",
        RiskRule.DormantActive => "dormant_active",
        RiskRule.Watchlist => "watchlist",
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, null),
    };

    public static bool TryParse(string? name, out RiskRule rule)
    {
        foreach (var r in All)
        {
            if (Name(r) == name) { rule = r; return true; }
        }
        rule = default;
        return false;
    }
}

/// <summary>A rule's finding about one movement: the movements that make it up (the hits) and why.</summary>
internal sealed record RuleHit(RiskRule Rule, IReadOnlyList<AmlMovement> Movements, string Detail);

/// <summary>
/// What the subject's history looks like when one movement arrives: its movements in the look-back window up to and
/// including that one (oldest first), when it last moved money before the movement's China day began, and its daily tier
/// cap where tier limits apply (a person's, with account security on).
/// </summary>
internal sealed record SubjectHistory(IReadOnlyList<AmlMovement> Movements, long? LastBeforeDayUs, long? DailyCapMinor);

/// <summary>
/// The AML rules as pure functions of one movement and the subject's history (so they are tested without a database). A
/// rule answers the whole set of movements that make it fire; recording them is idempotent (keyed by rule, subject and
/// movement), so evaluating an event twice adds nothing.
/// </summary>
internal sealed partial class AmlRules(AmlOptions options)
{
    internal AmlOptions Options => options;

    private const string Cny = "CNY";

    public IReadOnlyList<RuleHit> Evaluate(AmlMovement m, SubjectHistory history)
    {
        var hits = new List<RuleHit>();
        // The thresholds are in yuan (PBOC reporting counts foreign currencies in their own thresholds, not modelled here).
        if (m.Currency != Cny) return hits;
        var seen = history.Movements.Where(h => h.AtUs <= m.AtUs && h.Currency == Cny).ToList();
        if (LargeValue(m, seen) is { } large) hits.Add(large);
        if (Structuring(m, seen, history.DailyCapMinor) is { } structuring) hits.Add(structuring);
        if (Velocity(m, seen) is { } velocity) hits.Add(velocity);
        if (PassThrough(m, seen) is { } pass) hits.Add(pass);
        if (DormantActive(m, seen, history.LastBeforeDayUs) is { } dormant) hits.Add(dormant);
        return hits;
    }

    public long LargeValueThreshold(SubjectType type) => type == SubjectType.Merchant ? options.LargeValueMerchantMinor : options.LargeValuePersonMinor;

    /// <summary>The amounts structuring looks just below: the large-value threshold, and the daily cap where one applies.</summary>
    internal long[] StructuringThresholds(SubjectType type, long? dailyCap) =>
        dailyCap is { } cap and > 0 ? [LargeValueThreshold(type), cap] : [LargeValueThreshold(type)];

    /// <summary>Whether an amount is within the structuring band below one of <paramref name="thresholds"/>.</summary>
    internal bool InStructuringBand(long amount, long[] thresholds)
    {
        foreach (var t in thresholds)
            if (amount * 100 >= t * options.StructuringBandPercent && amount <= t) return true;
        return false;
    }

    // The findings' texts, shared with the batch evaluation (AmlBatchRules) so both say exactly the same.
    internal static string LargeValueDetail(Direction direction, long total, string day, long threshold) =>
        $"{AmlNames.Name(direction)} {total} on {day} (threshold {threshold})";

    internal string StructuringDetail(int count, long[] thresholds) =>
        $"{count} outgoing movements within {options.StructuringWindowHours} h each {options.StructuringBandPercent}-100 % of {string.Join(" or ", thresholds)}";

    internal string VelocityDetail(int count) => $"{count} outgoing movements within {options.VelocityWindowMinutes} min";

    internal string PassThroughDetail(long outTotal, long inTotal) => $"{outTotal} of {inTotal} received moved out within {options.PassThroughWindowMinutes} min";

    internal static string DormantDetail(long total, string day, TimeSpan idle) => $"{total} moved on {day} after {(int)idle.TotalDays} days without a movement";

    /// <summary>The day's transfers and payments on the movement's side reach the threshold: every one of them is reportable.</summary>
    private RuleHit? LargeValue(AmlMovement m, List<AmlMovement> seen)
    {
        if (!m.Reportable) return null;
        var day = m.ChinaDate;
        var side = seen.Where(h => h.Reportable && h.Direction == m.Direction && h.ChinaDate == day).ToList();
        var total = side.Sum(h => h.AmountMinor);
        var threshold = LargeValueThreshold(m.SubjectType);
        return total >= threshold
            ? new RuleHit(RiskRule.LargeValue, side, LargeValueDetail(m.Direction, total, day, threshold))
            : null;
    }

    /// <summary>Many outgoing movements each just below a threshold (the large-value one, or the daily cap), within the window.</summary>
    private RuleHit? Structuring(AmlMovement m, List<AmlMovement> seen, long? dailyCap)
    {
        if (m.Direction != Direction.Out || !m.Reportable) return null;
        var thresholds = StructuringThresholds(m.SubjectType, dailyCap);
        bool InBand(long amount) => InStructuringBand(amount, thresholds);
        if (!InBand(m.AmountMinor)) return null;
        var from = m.AtUs - options.StructuringWindowHours * 3_600_000_000L;
        var banded = seen.Where(h => h.Direction == Direction.Out && h.Reportable && h.AtUs > from && InBand(h.AmountMinor)).ToList();
        return banded.Count >= options.StructuringCount
            ? new RuleHit(RiskRule.Structuring, banded, StructuringDetail(banded.Count, thresholds))
            : null;
    }

    /// <summary>More than the allowed number of outgoing movements (any kind) within the window.</summary>
    private RuleHit? Velocity(AmlMovement m, List<AmlMovement> seen)
    {
        if (m.Direction != Direction.Out) return null;
        var from = m.AtUs - options.VelocityWindowMinutes * 60_000_000L;
        var window = seen.Where(h => h.Direction == Direction.Out && h.AtUs > from).ToList();
        return window.Count > options.VelocityCountMax
            ? new RuleHit(RiskRule.Velocity, window, VelocityDetail(window.Count))
            : null;
    }

    /// <summary>
    /// Money received (not top-ups) moved out again (transfers, payments, withdrawals) within the window: what went out since
    /// the first receipt of the window is at least the percentage of what came in, and at least the minimum.
    /// </summary>
    private RuleHit? PassThrough(AmlMovement m, List<AmlMovement> seen)
    {
        if (m.Direction != Direction.Out) return null;
        var from = m.AtUs - options.PassThroughWindowMinutes * 60_000_000L;
        var received = seen.Where(h => h.Received && h.AtUs >= from).ToList();
        if (received.Count == 0) return null;
        var firstIn = received.Min(h => h.AtUs);
        var sent = seen.Where(h => h.Direction == Direction.Out && h.AtUs >= firstIn).ToList();
        long inTotal = received.Sum(h => h.AmountMinor), outTotal = sent.Sum(h => h.AmountMinor);
        return outTotal >= options.PassThroughMinMinor && outTotal * 100 >= inTotal * options.PassThroughPercent
            ? new RuleHit(RiskRule.PassThrough, [.. received, .. sent], PassThroughDetail(outTotal, inTotal))
            : null;
    }

    /// <summary>No movement for the dormancy period before this China day, and the day's movements (both sides) reach the amount.</summary>
    private RuleHit? DormantActive(AmlMovement m, List<AmlMovement> seen, long? lastBeforeDayUs)
    {
        if (lastBeforeDayUs is not { } last) return null;
        var day = m.ChinaDate;
        var today = seen.Where(h => h.ChinaDate == day).ToList();
        if (today.Count == 0) return null;
        var idle = TimeSpan.FromTicks((today.Min(h => h.AtUs) - last) * 10);
        var total = today.Sum(h => h.AmountMinor);
        return idle >= TimeSpan.FromDays(options.DormantDays) && total >= options.DormantActiveMinor
            ? new RuleHit(RiskRule.DormantActive, today, DormantDetail(total, day, idle))
            : null;
    }
}
