namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// Each AML subject's recent window held in memory by the subscriber: its stored movements from <see cref="Window.FromUs"/>
/// on, and which of them already carry a hit of which rule, tagged with the subject's version in <c>aml_subjects</c> that
/// they match. A batch then reads one version row per subject instead of every movement of the window, and sends only hits
/// not yet recorded.
/// </summary>
/// <remarks>
/// Why this is exact across processes: the version is bumped (<c>RETURNING</c> the new value) in the same write transaction
/// that logs the subject's movements and hits, by every writer (only this subscriber writes them; nothing deletes them). A
/// window is used only when the version read at the start of the batch equals its tag, i.e. nothing was written for the
/// subject since the window was built; and a window is kept after a commit only when the bump returned exactly tag + 1 (no
/// other writer in between). Any other case (another process took the lease and wrote, a commit of unknown outcome, a
/// window that does not reach back far enough) reads the subject from the database as before. A recorded hit is only ever
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

    /// <param name="Movements">The subject's stored movements with <c>at_us ≥ FromUs</c>, any order.</param>
    /// <param name="Hits">(rule, movement) pairs in <c>risk_hits</c> for this subject among those movements.</param>
    internal sealed record Window(long Version, long FromUs, IReadOnlyList<AmlMovement> Movements, IReadOnlySet<(RiskRule Rule, Guid MovementId)> Hits);

    private readonly Dictionary<Guid, Window> windows = [];
    private readonly Lock gate = new();
    private long movementsHeld;

    /// <summary>The subject's window if it matches <paramref name="storedVersion"/> and reaches back to <paramref name="fromUs"/>.</summary>
    public Window? Find(Guid subjectId, long storedVersion, long fromUs)
    {
        lock (gate)
        {
            return windows.TryGetValue(subjectId, out var w) && w.Version == storedVersion && w.FromUs <= fromUs ? w : null;
        }
    }

    public void Keep(Guid subjectId, Window window)
    {
        lock (gate)
        {
            Remove(subjectId);
            if (subjectsMax <= 0 || window.Movements.Count > MovementsPerSubjectMax) return;
            if (windows.Count >= subjectsMax || movementsHeld + window.Movements.Count > MovementsMax)
            {
                windows.Clear();
                movementsHeld = 0;
            }
            windows[subjectId] = window;
            movementsHeld += window.Movements.Count;
        }
    }

    public void Forget(Guid subjectId)
    {
        lock (gate) Remove(subjectId);
    }

    private void Remove(Guid subjectId)
    {
        if (windows.Remove(subjectId, out var old)) movementsHeld -= old.Movements.Count;
    }

    public int Count
    {
        get { lock (gate) return windows.Count; }
    }
}
