using Qianbao.Server.Modules.Identity.Limits;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// AML monitoring as a subscriber of the money events. For each batch: each movement the events stand for is evaluated
/// against the subject's history (<see cref="AmlRules"/>) read outside any write transaction (one read for all the batch's
/// subjects), then in one short transaction the movements join the movement log (ids derived from the event, so a redelivery inserts nothing) and the
/// hits join cases (keyed by rule, subject and movement, so evaluating again adds nothing). The runner moves the checkpoint only after this returns, so a crash
/// anywhere before means the batch is delivered again and evaluated in full: no hit is lost, none is counted twice.
/// </summary>
internal sealed class AmlSubscriber(Db db, AmlRules rules, AmlOptions options, RiskCases cases, MerchantDirectory merchants, TierLimits limits,
    AmlWindows windows)
    : IEventSubscriber
{
    public const string SubscriberName = "risk.aml";

    public string Name => SubscriberName;

    public IReadOnlySet<string>? Handles => AmlMovements.EventTypesOfInterest;

    public Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct) => HandleAsync(EventBatch.Unchecked(events), ct);

    /// <summary>The checkpoint commits with the movements and hits (<see cref="EventBatch"/>): one transaction per batch, not two.</summary>
    public async Task HandleAsync(EventBatch batch, CancellationToken ct)
    {
        var events = batch.Events;
        // What other modules know is asked before the transaction (their reads take connections of their own).
        var merchantOwners = new HashSet<Guid>();
        foreach (var owner in events.Select(e => e.Event).OfType<WithdrawalSucceeded>().Select(w => w.OwnerId).Distinct())
        {
            if (await merchants.ExistsAsync(owner, ct)) merchantOwners.Add(owner);
        }
        var movements = events.SelectMany(e => AmlMovements.From(e, merchantOwners.Contains)).ToList();
        if (movements.Count == 0) return;
        var caps = new Dictionary<Guid, long?>();
        foreach (var payer in movements.Where(m => m.SubjectType == SubjectType.User && m.Direction == Direction.Out).Select(m => m.SubjectId).Distinct())
            caps[payer] = await limits.DailyCapMinorAsync(payer, ct);

        // Evaluated from reads outside the write transaction: on SQLite a write transaction holds the one write lock, and
        // the ledger's batch commits must not wait while a subject's history is read. Only this subscriber writes the log
        // (one lease), so the stored history plus this batch's movements is what the log will hold; a redelivered batch's
        // movements may already be stored, hence the union by id.
        var lookBack = (long)options.HistoryWindow.TotalMicroseconds;
        var toAdd = new List<(SubjectType Type, Guid Subject, RiskRule Rule, IReadOnlyList<CaseHit> Hits, string Detail)>();
        // Each subject's movements by time (a stable sort: a moment's movements stay in the order they came).
        var subjects = movements.GroupBy(m => (m.SubjectType, m.SubjectId)).Select(g => (g.Key, Ordered: g.OrderBy(m => m.AtUs).ToList())).ToList();
        // How far back each subject's history must reach (the read is by subject id, whatever the subject's type).
        var needFrom = subjects.GroupBy(s => s.Key.SubjectId).ToDictionary(g => g.Key, g => g.Min(s => s.Ordered[0].AtUs) - lookBack);
        // A subject id with movements as two types (a person and a merchant sharing an id) is evaluated per type over one
        // series with the marks cleared each time, and its window is not kept.
        var twoTypes = subjects.GroupBy(s => s.Key.SubjectId).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        var single = subjects.Where(s => !twoTypes.Contains(s.Key.SubjectId)).ToDictionary(s => s.Key.SubjectId);
        Dictionary<Guid, long> versions;
        var held = new Dictionary<Guid, AmlWindows.Window>();
        await using (var reading = await db.OpenAsync(ct))
        {
            // One version row per subject; a subject whose window this process holds at that version, and whose batch comes
            // after the window's last movement, is not read again: its batch is appended (AmlWindows says why that is exact).
            // The others: their stored movements in one read over the union of their windows (and later, in case events
            // arrived out of time order), and their recorded hits.
            versions = await AmlStore.VersionsAsync(reading, db, needFrom.Keys, ct);
            var misses = new List<Guid>();
            foreach (var (subject, from) in needFrom)
            {
                if (windows.Take(subject, versions[subject], from) is { } w && single.TryGetValue(subject, out var one) && w.Series.CanAppend(one.Ordered))
                {
                    foreach (var m in one.Ordered) w.Series.Append(m);
                    held[subject] = w;
                }
                else misses.Add(subject);
            }
            if (misses.Count > 0)
            {
                var readFrom = misses.Min(s => needFrom[s]);
                var read = await AmlStore.RangeManyAsync(reading, db, misses, readFrom, long.MaxValue, ct);
                var recorded = await AmlStore.HitsManyAsync(reading, db, misses, readFrom, ct);
                var batchOf = movements.ToLookup(m => m.SubjectId);
                foreach (var subject in misses)
                {
                    // The stored window and the batch's movements, each once, in time order.
                    var window = read.GetValueOrDefault(subject) ?? [];
                    window.Sort(ByTimeThenId);
                    var all = Merged(window, [.. batchOf[subject]]);
                    // The band counted for the subject's cap (a person paying in this batch), as the rules will ask.
                    var type = single.TryGetValue(subject, out var one) ? one.Key.SubjectType : SubjectType.User;
                    var series = new AmlSeries(rules, rules.StructuringThresholds(type, caps.GetValueOrDefault(subject)), all.Count + 16);
                    foreach (var m in all) series.Append(m);
                    held[subject] = new AmlWindows.Window(versions[subject], readFrom, series, recorded[subject]);
                }
            }
            // When each subject last moved money before each China day of the batch began: the movement before the day's
            // first in its window, which holds every stored movement from before the day and the batch's; for a window
            // without one, the log (asked once for all of them) or the window's memory of what the log answered.
            var prepared = new List<(SubjectType Type, Guid Subject, List<AmlMovement> Ordered, Dictionary<string, (long DayStartUs, long FirstUs, long? Last, bool Ask)> Days)>();
            foreach (var (key, ordered) in subjects)
            {
                var w = held[key.SubjectId];
                var days = new Dictionary<string, (long DayStartUs, long FirstUs, long? Last, bool Ask)>();
                foreach (var m in ordered)
                {
                    var date = m.ChinaDate;
                    if (days.ContainsKey(date)) continue;
                    var dayStart = AmlNames.ChinaDayStartUs(m.AtUs);
                    var first = w.Series.LowerBound(dayStart);
                    days[date] = first > w.Series.Start ? (dayStart, w.Series[first].AtUs, w.Series[first - 1].AtUs, false)
                        : w.LastBeforeDay is { } known && known.DayStartUs == dayStart ? (dayStart, w.Series[first].AtUs, known.LastUs, false)
                        : (dayStart, w.Series[first].AtUs, null, true);
                }
                prepared.Add((key.SubjectType, key.SubjectId, ordered, days));
            }
            var asked = await AmlStore.LastBeforeManyAsync(reading,
                prepared.SelectMany(p => p.Days.Values.Where(d => d.Ask).Select(d => (p.Subject, d.FirstUs))).Distinct().ToList(), ct);
            foreach (var (type, subject, ordered, days) in prepared)
            {
                var w = held[subject];
                long? LastBeforeDay(string date)
                {
                    var d = days[date];
                    if (!d.Ask) return d.Last;
                    long? last = asked.TryGetValue((subject, d.FirstUs), out var l) ? l : null;
                    // Remembered for the next batches of the day (the window has none of the movements before it).
                    w.LastBeforeDay = (d.DayStartUs, last);
                    return last;
                }
                if (twoTypes.Contains(subject)) Array.Clear(w.Series.Marks);
                // Every movement of the batch against the history up to it, all at once (AmlRules.EvaluateBatch: the same
                // findings as AmlRules.Evaluate per movement, joined per rule, naming only what earlier firings did not).
                var found = rules.EvaluateBatch(w.Series, ordered, LastBeforeDay, caps.GetValueOrDefault(subject));
                // A hit already in risk_hits is left out: its insert would conflict and add nothing. A finding left with
                // no hit would have added none, so it opens no case either way.
                foreach (var (rule, hits, detail) in found)
                {
                    var fresh = FreshHits(rule, hits, w.Hits);
                    if (fresh.Count > 0) toAdd.Add((type, subject, rule, fresh, detail));
                }
            }
        }

        Dictionary<Guid, long> bumped;
        await using (var connection = await db.OpenAsync(ct))
        {
            await using var tx = await db.BeginWriteAsync(connection, ct);
            await batch.CommitCheckpointAsync(connection, tx, ct);
            await AmlStore.InsertAsync(connection, tx, movements, ct);
            await cases.AddHitsManyAsync(connection, tx, toAdd, ct);
            bumped = await AmlStore.BumpVersionsAsync(connection, tx, db, needFrom.Keys, ct);
            await tx.CommitAsync(ct);
        }
        KeepWindows(toAdd, needFrom, versions, bumped, held, twoTypes);
    }

    /// <summary>The movements of a finding not recorded yet, as case hits in (time, id) order.</summary>
    internal static List<CaseHit> FreshHits(RiskRule rule, List<AmlMovement> named, IReadOnlySet<(RiskRule Rule, Guid MovementId)> recorded)
    {
        var fresh = named.Where(h => !recorded.Contains((rule, h.Id))).ToList();
        fresh.Sort(ByTimeThenId);
        return fresh.ConvertAll(h => new CaseHit(h.Id, h.AmountMinor, h.AtUs));
    }

    /// <summary>
    /// The stored movements (sorted by (time, id)) and the batch's, each once (a redelivered batch's may be stored already),
    /// sorted by (time, id): a merge.
    /// </summary>
    internal static List<AmlMovement> Merged(List<AmlMovement> stored, List<AmlMovement> batch)
    {
        var fresh = batch.ToList();
        fresh.Sort(ByTimeThenId);
        var batchIds = new HashSet<Guid>(batch.Select(m => m.Id));
        var merged = new List<AmlMovement>(stored.Count + fresh.Count);
        int i = 0, j = 0, hi = stored.Count;
        while (i < hi || j < fresh.Count)
        {
            if (i < hi && batchIds.Contains(stored[i].Id))
            {
                // The same movement as the batch's (ids derive from the event and the side): kept once, as the batch's.
                i++;
                continue;
            }
            if (j >= fresh.Count || (i < hi && ByTimeThenId(stored[i], fresh[j]) <= 0)) merged.Add(stored[i++]);
            else if (j == 0 || fresh[j].Id != fresh[j - 1].Id) merged.Add(fresh[j++]);
            else j++;
        }
        return merged;
    }

    internal static int ByTimeThenId(AmlMovement a, AmlMovement b) => a.AtUs != b.AtUs ? a.AtUs.CompareTo(b.AtUs) : a.Id.CompareTo(b.Id);

    /// <summary>
    /// After the commit: each subject's window holds this batch's movements and hits, tagged with the version the bump
    /// answered, kept only when that is the version read plus one (nobody else wrote the subject in between).
    /// </summary>
    private void KeepWindows(List<(SubjectType Type, Guid Subject, RiskRule Rule, IReadOnlyList<CaseHit> Hits, string Detail)> added,
        Dictionary<Guid, long> needFrom, Dictionary<Guid, long> versions, Dictionary<Guid, long> bumped, Dictionary<Guid, AmlWindows.Window> held,
        HashSet<Guid> twoTypes)
    {
        var addedOf = added.ToLookup(a => a.Subject);
        foreach (var (subject, from) in needFrom)
        {
            if (!bumped.TryGetValue(subject, out var version) || version != versions[subject] + 1 || twoTypes.Contains(subject))
            {
                windows.Forget(subject);
                continue;
            }
            var w = held[subject];
            // Only what the next batch can still need (it starts later, as time goes); a batch that reaches further back reads.
            w.Advance(version, Math.Max(w.FromUs, from), addedOf[subject].SelectMany(a => a.Hits.Select(h => (a.Rule, h.MovementId))));
            windows.Keep(subject, w);
        }
    }
}
