using Qianbao.Ledger;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// Each AML subject's recent window held in memory by the subscriber: its stored movements from <see cref="Window.FromUs"/>
/// on as an <see cref="AmlSeries"/> (running counts and sums, the rules' marks), and which of them already carry a hit of
/// which rule, tagged with the subject's version in <c>aml_subjects</c> that they match. A batch then reads one version row
/// per subject instead of every movement of the window, appends its movements, and sends only hits not yet recorded.
/// </summary>
/// <remarks>
/// Why this is exact across processes: the version is bumped (<c>RETURNING</c> the new value) in the same write transaction
/// that logs the subject's movements and hits, by every writer (only this subscriber writes them; nothing deletes them). A
/// window is used only when the version read at the start of the batch equals its tag, i.e. nothing was written for the
/// subject since the window was built; and a window is kept after a commit only when the bump returned exactly tag + 1 (no
/// other writer in between). Any other case (another process took the lease and wrote, a commit of unknown outcome, a
/// window that does not reach back far enough, a batch with a movement earlier than the window's last) reads the subject from
/// the database as before. A window is taken out while a batch uses it (<see cref="Take"/>) and put back only after that
/// batch committed, so a failed batch leaves no half-changed window behind. A recorded hit is only ever
/// one that is in <c>risk_hits</c> (read from it, or committed), so leaving it out of the insert changes nothing that
/// <c>ON CONFLICT DO NOTHING</c> would not have done. Bound: <see cref="SubjectsMax"/> subjects and <see cref="MovementsMax"/>
/// movements in all (then cleared; roughly 150 bytes a movement), <see cref="MovementsPerSubjectMax"/> per window (a busier
/// subject is read each batch, as before).
/// </remarks>
internal sealed class AmlWindows(int subjectsMax = AmlWindows.SubjectsMax)
{
    public const int SubjectsMax = 100_000;
    public const int MovementsPerSubjectMax = 5_000;
    public const int MovementsMax = 500_000;

    /// <summary>One subject's window; owned by one batch at a time (taken out, changed, kept again).</summary>
    /// <param name="series">The subject's stored movements with <c>at_us ≥ fromUs</c>, in time order.</param>
    /// <param name="hits">(rule, movement) pairs in <c>risk_hits</c> for this subject among those movements.</param>
    internal sealed class Window(long version, long fromUs, AmlSeries series, HashSet<(RiskRule Rule, Guid MovementId)> hits)
    {
        public long Version { get; private set; } = version;

        public long FromUs { get; private set; } = fromUs;

        public AmlSeries Series { get; } = series;

        public HashSet<(RiskRule Rule, Guid MovementId)> Hits { get; } = hits;

        /// <summary>
        /// When the subject last moved money before a China day began (null: never), as the log answered it for that day's
        /// start. Still true while the window is kept: the window then holds a movement of that day, and a kept window only
        /// ever appends later ones (the log gains nothing earlier without the window being dropped).
        /// </summary>
        public (long DayStartUs, long? LastUs)? LastBeforeDay { get; set; }

        /// <summary>
        /// After the batch committed at <paramref name="version"/>: its new hits recorded, and only what the next batch can still
        /// need kept (from <paramref name="keepFromUs"/>; a batch reaching further back reads), the dropped movements' hits with them.
        /// </summary>
        public void Advance(long version, long keepFromUs, IEnumerable<(RiskRule Rule, Guid MovementId)> added)
        {
            Invariant.That(version > Version && keepFromUs >= FromUs, "a kept AML window only moves forward");
            Version = version;
            FromUs = keepFromUs;
            Hits.UnionWith(added);
            foreach (var m in Series.DropBefore(keepFromUs))
            {
                foreach (var rule in Rules) Hits.Remove((rule, m.Id));
            }
        }

        private static readonly RiskRule[] Rules = [.. RiskRules.All.Where(r => r != RiskRule.Watchlist)];
    }

    private readonly Dictionary<Guid, Window> windows = [];
    private readonly Lock gate = new();
    private long movementsHeld;

    /// <summary>
    /// Takes the subject's window out if it matches <paramref name="storedVersion"/> and reaches back to <paramref name="fromUs"/>
    /// (any other is dropped): the caller owns it until it keeps it again.
    /// </summary>
    public Window? Take(Guid subjectId, long storedVersion, long fromUs)
    {
        lock (gate)
        {
            if (!windows.Remove(subjectId, out var w)) return null;
            movementsHeld -= w.Series.Live;
            return w.Version == storedVersion && w.FromUs <= fromUs ? w : null;
        }
    }

    public void Keep(Guid subjectId, Window window)
    {
        lock (gate)
        {
            Remove(subjectId);
            var live = window.Series.Live;
            if (subjectsMax <= 0 || live > MovementsPerSubjectMax) return;
            if (windows.Count >= subjectsMax || movementsHeld + live > MovementsMax)
            {
                windows.Clear();
                movementsHeld = 0;
            }
            windows[subjectId] = window;
            movementsHeld += live;
        }
    }

    public void Forget(Guid subjectId)
    {
        lock (gate) Remove(subjectId);
    }

    private void Remove(Guid subjectId)
    {
        if (windows.Remove(subjectId, out var old)) movementsHeld -= old.Series.Live;
    }

    public int Count
    {
        get { lock (gate) return windows.Count; }
    }
}
