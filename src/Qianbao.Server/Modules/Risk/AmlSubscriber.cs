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
        var subjects = movements.GroupBy(m => (m.SubjectType, m.SubjectId)).Select(g => (g.Key, Ordered: g.OrderBy(m => m.AtUs).ToList())).ToList();
        // How far back each subject's history must reach (the read is by subject id, whatever the subject's type).
        var needFrom = subjects.GroupBy(s => s.Key.SubjectId).ToDictionary(g => g.Key, g => g.Min(s => s.Ordered[0].AtUs) - lookBack);
        Dictionary<Guid, long> versions;
        var stored = new Dictionary<Guid, (IReadOnlyList<AmlMovement> Movements, IReadOnlySet<(RiskRule Rule, Guid MovementId)> Hits, long FromUs)>();
        await using (var reading = await db.OpenAsync(ct))
        {
            // One version row per subject; a subject whose window this process holds at that version is not read again
            // (AmlWindows says why that is exact). The others: their stored movements in one read over the union of their
            // windows (and later, in case events arrived out of time order), and their recorded hits.
            versions = await AmlStore.VersionsAsync(reading, db, needFrom.Keys, ct);
            var misses = new List<Guid>();
            foreach (var (subject, from) in needFrom)
            {
                if (windows.Find(subject, versions[subject], from) is { } w) stored[subject] = (w.Movements, w.Hits, w.FromUs);
                else misses.Add(subject);
            }
            if (misses.Count > 0)
            {
                var readFrom = misses.Min(s => needFrom[s]);
                var read = await AmlStore.RangeManyAsync(reading, db, misses, readFrom, long.MaxValue, ct);
                var recorded = await AmlStore.HitsManyAsync(reading, db, misses, readFrom, ct);
                foreach (var subject in misses)
                {
                    // Sorted by (time, id) like every kept window, so the batch below is merged in and ranges are found by halving.
                    var window = read.GetValueOrDefault(subject) ?? [];
                    window.Sort(ByTimeThenId);
                    stored[subject] = (window, recorded[subject], readFrom);
                }
            }
            var storedAll = stored.ToDictionary(s => s.Key, s => s.Value.Movements);
            // Each subject's history, and when it last moved money before each China day of the batch began. The stored read
            // holds every movement from the window's start (before the day's first) on: its latest before the day is the
            // log's when there is one; the log is asked (once for all of them) only for subjects quiet over the whole window.
            var prepared = new List<(SubjectType Type, Guid Subject, List<AmlMovement> Ordered, List<AmlMovement> History, Dictionary<string, long> FirstOfDay,
                Dictionary<string, long?> StoredLast)>();
            foreach (var (key, ordered) in subjects)
            {
                var fromUs = ordered[0].AtUs - lookBack;
                var toUs = ordered[^1].AtUs;
                // The stored movements from fromUs to toUs: a range of the sorted window (no copy).
                var all = Sorted(storedAll.GetValueOrDefault(key.SubjectId) ?? []);
                int mineLo = LowerBound(all, fromUs), mineHi = LowerBound(all, toUs + 1);
                var history = Merged(all, mineLo, mineHi, ordered);
                // A day's first movement: the first of the sorted history from the day's start (a batch movement of that day is in it).
                var firstOfDay = ordered.Select(m => m.ChinaDate).Distinct().ToDictionary(d => d,
                    d => history[LowerBound(history, AmlNames.ChinaDayStartUs(ordered.First(m => m.ChinaDate == d).AtUs))].AtUs);
                // The stored movement just before it, if any within the range.
                var storedLast = firstOfDay.ToDictionary(f => f.Key, f =>
                {
                    var k = LowerBound(all, f.Value, mineLo, mineHi);
                    return k > mineLo ? all[k - 1].AtUs : (long?)null;
                });
                prepared.Add((key.SubjectType, key.SubjectId, ordered, history, firstOfDay, storedLast));
            }
            var asked = await AmlStore.LastBeforeManyAsync(reading,
                prepared.SelectMany(p => p.FirstOfDay.Where(f => p.StoredLast[f.Key] is null).Select(f => (p.Subject, f.Value))).Distinct().ToList(), ct);
            foreach (var (type, subject, ordered, history, firstOfDays, storedLasts) in prepared)
            {
                var lastBeforeDay = new Dictionary<string, long?>();
                long? LastBeforeDay(string date)
                {
                    if (!lastBeforeDay.TryGetValue(date, out var last))
                    {
                        var firstOfDay = firstOfDays[date];
                        var storedLast = storedLasts[date] ?? (asked.TryGetValue((subject, firstOfDay), out var l) ? l : null);
                        var batchLast = ordered.Where(b => b.AtUs < firstOfDay).Select(b => (long?)b.AtUs).DefaultIfEmpty(null).Max();
                        lastBeforeDay[date] = last = storedLast is null ? batchLast : batchLast is null ? storedLast : Math.Max(storedLast.Value, batchLast.Value);
                    }
                    return last;
                }
                // Every movement of the batch against the history up to it, all at once (AmlRules.EvaluateBatch: the same
                // findings as AmlRules.Evaluate per movement, joined per rule, without filtering the window per movement).
                var found = rules.EvaluateBatch(history, ordered, LastBeforeDay, caps.GetValueOrDefault(subject));
                // A hit already in risk_hits is left out: its insert would conflict and add nothing. A finding left with
                // no hit would have added none, so it opens no case either way.
                var recorded = stored[subject].Hits;
                foreach (var (rule, hits, detail) in found)
                {
                    var fresh = hits.Where(h => !recorded.Contains((rule, h.Id))).OrderBy(h => h.AtUs).Select(h => new CaseHit(h.Id, h.AmountMinor, h.AtUs)).ToList();
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
        KeepWindows(movements, toAdd, needFrom, versions, bumped, stored);
    }

    /// <summary>
    /// The stored movements stored[lo..hi) (sorted) and the batch's, each once (a redelivered batch's may be stored already), sorted by (time, id):
    /// a merge, as both come sorted (the batch's by time; windows are kept sorted, a read is sorted here).
    /// </summary>
    private static List<AmlMovement> Merged(IReadOnlyList<AmlMovement> stored, int lo, int hi, List<AmlMovement> batch)
    {
        var fresh = batch.ToList();
        fresh.Sort(ByTimeThenId);
        var batchIds = new HashSet<Guid>(batch.Select(m => m.Id));
        var merged = new List<AmlMovement>(hi - lo + fresh.Count);
        int i = lo, j = 0;
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

    /// <summary>The list itself when sorted by (time, id) (every window is kept so), else a sorted copy (the kept list is never changed).</summary>
    private static IReadOnlyList<AmlMovement> Sorted(IReadOnlyList<AmlMovement> movements)
    {
        for (var i = 1; i < movements.Count; i++)
        {
            if (ByTimeThenId(movements[i - 1], movements[i]) > 0)
            {
                var copy = movements.ToList();
                copy.Sort(ByTimeThenId);
                return copy;
            }
        }
        return movements;
    }

    /// <summary>The first index in [lo, hi) of the sorted list whose time is at or after <paramref name="atUs"/> (hi if none).</summary>
    private static int LowerBound(IReadOnlyList<AmlMovement> sorted, long atUs, int lo = 0, int hi = -1)
    {
        if (hi < 0) hi = sorted.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid].AtUs < atUs) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private static int ByTimeThenId(AmlMovement a, AmlMovement b) => a.AtUs != b.AtUs ? a.AtUs.CompareTo(b.AtUs) : a.Id.CompareTo(b.Id);

    /// <summary>
    /// After the commit: each subject's window is what it was plus this batch's movements and hits, tagged with the version
    /// the bump answered, kept only when that is the version read plus one (nobody else wrote the subject in between).
    /// </summary>
    private void KeepWindows(List<AmlMovement> movements, List<(SubjectType Type, Guid Subject, RiskRule Rule, IReadOnlyList<CaseHit> Hits, string Detail)> added,
        Dictionary<Guid, long> needFrom, Dictionary<Guid, long> versions, Dictionary<Guid, long> bumped,
        Dictionary<Guid, (IReadOnlyList<AmlMovement> Movements, IReadOnlySet<(RiskRule Rule, Guid MovementId)> Hits, long FromUs)> stored)
    {
        var batchOf = movements.ToLookup(m => m.SubjectId);
        var addedOf = added.ToLookup(a => a.Subject);
        foreach (var (subject, from) in needFrom)
        {
            if (!bumped.TryGetValue(subject, out var version) || version != versions[subject] + 1)
            {
                windows.Forget(subject);
                continue;
            }
            var (old, oldHits, oldFrom) = stored[subject];
            // Only what the next batch can still need (it starts later, as time goes); a batch that reaches further back reads.
            var keepFrom = Math.Max(oldFrom, from);
            // Kept sorted by (time, id), so the next batch merges instead of sorting.
            var sortedOld = Sorted(old);
            var keepLo = LowerBound(sortedOld, keepFrom);
            var kept = Merged(sortedOld, keepLo, sortedOld.Count, batchOf[subject].Where(m => m.AtUs >= keepFrom).ToList());
            // The hits of movements still in the window: the old ones (copied whole) and this batch's, less those of movements
            // the window dropped (every other hit names a movement of the window; a hit left over would still be in risk_hits).
            var hits = new HashSet<(RiskRule Rule, Guid MovementId)>(oldHits);
            hits.UnionWith(addedOf[subject].SelectMany(a => a.Hits.Select(h => (a.Rule, h.MovementId))));
            var dropped = sortedOld.Take(keepLo).Select(m => m.Id).ToHashSet();
            if (dropped.Count > 0) hits.RemoveWhere(h => dropped.Contains(h.MovementId));
            windows.Keep(subject, new AmlWindows.Window(version, keepFrom, kept, hits));
        }
    }
}
