using Qianbao.Server.Modules.Identity.Limits;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// AML monitoring as a subscriber of the money events. For each batch: each movement the events stand for is evaluated
/// against the subject's history (<see cref="AmlRules"/>) read outside any write transaction, then in one short
/// transaction the movements join the movement log (ids derived from the event, so a redelivery inserts nothing) and the
/// hits join cases (keyed by rule, subject and movement, so evaluating again adds nothing). The runner moves the checkpoint only after this returns, so a crash
/// anywhere before means the batch is delivered again and evaluated in full: no hit is lost, none is counted twice.
/// </summary>
internal sealed class AmlSubscriber(Db db, AmlRules rules, AmlOptions options, RiskCases cases, MerchantDirectory merchants, TierLimits limits)
    : IEventSubscriber
{
    public const string SubscriberName = "risk.aml";

    public string Name => SubscriberName;

    public IReadOnlySet<string>? Handles => AmlMovements.EventTypesOfInterest;

    public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct)
    {
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
        await using (var reading = await db.OpenAsync(ct))
        {
            foreach (var subject in movements.GroupBy(m => (m.SubjectType, m.SubjectId)))
            {
                var ordered = subject.OrderBy(m => m.AtUs).ToList();
                var stored = await AmlStore.RangeAsync(reading, null, subject.Key.SubjectId, ordered[0].AtUs - lookBack, ordered[^1].AtUs, int.MaxValue, ct);
                var history = stored.Concat(ordered).DistinctBy(m => m.Id).OrderBy(m => m.AtUs).ThenBy(m => m.Id).ToList();
                var found = new Dictionary<RiskRule, (Dictionary<Guid, AmlMovement> Movements, string Detail)>();
                var lastBeforeDay = new Dictionary<string, long?>();
                foreach (var m in ordered)
                {
                    var date = m.ChinaDate;
                    if (!lastBeforeDay.TryGetValue(date, out var last))
                    {
                        var firstOfDay = history.Where(h => h.ChinaDate == date).Select(h => h.AtUs).DefaultIfEmpty(m.AtUs).Min();
                        var storedLast = await AmlStore.LastBeforeAsync(reading, null, subject.Key.SubjectId, firstOfDay, ct);
                        var batchLast = ordered.Where(b => b.AtUs < firstOfDay).Select(b => (long?)b.AtUs).DefaultIfEmpty(null).Max();
                        lastBeforeDay[date] = last = storedLast is null ? batchLast : batchLast is null ? storedLast : Math.Max(storedLast.Value, batchLast.Value);
                    }
                    var seen = history.Where(h => h.AtUs <= m.AtUs).ToList();
                    foreach (var hit in rules.Evaluate(m, new SubjectHistory(seen, last, caps.GetValueOrDefault(m.SubjectId))))
                    {
                        if (!found.TryGetValue(hit.Rule, out var acc)) found[hit.Rule] = acc = (new Dictionary<Guid, AmlMovement>(), hit.Detail);
                        foreach (var h in hit.Movements) acc.Movements[h.Id] = h;
                        found[hit.Rule] = acc with { Detail = hit.Detail };
                    }
                }
                foreach (var (rule, (hits, detail)) in found)
                    toAdd.Add((subject.Key.SubjectType, subject.Key.SubjectId, rule, [.. hits.Values.OrderBy(h => h.AtUs).Select(h => new CaseHit(h.Id, h.AmountMinor, h.AtUs))], detail));
            }
        }

        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        await AmlStore.InsertAsync(connection, tx, movements, ct);
        foreach (var (type, subject, rule, hits, detail) in toAdd)
            await cases.AddHitsAsync(connection, tx, type, subject, rule, hits, detail, ct);
        await tx.CommitAsync(ct);
    }
}
