using System.Data.Common;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Risk;

/// <summary>A case's state; stored by its snake_case name. Open and assigned cases take new hits; a resolved one never changes.</summary>
internal enum CaseStatus { Open, Assigned, Resolved }

/// <summary>An operator's decision on a case; stored by its snake_case name.</summary>
internal enum CaseDecision { Cleared, Reported, Frozen }

internal static class CaseNames
{
    public static string Name(CaseStatus s) => s switch { CaseStatus.Open => "open", CaseStatus.Assigned => "assigned", _ => "resolved" };

    public static bool TryParseStatus(string? s, out CaseStatus status)
    {
        status = s switch { "open" => CaseStatus.Open, "assigned" => CaseStatus.Assigned, "resolved" => CaseStatus.Resolved, _ => (CaseStatus)(-1) };
        return status >= CaseStatus.Open;
    }

    public static string Name(CaseDecision d) => d switch { CaseDecision.Cleared => "cleared", CaseDecision.Reported => "reported", _ => "frozen" };

    public static bool TryParseDecision(string? s, out CaseDecision decision)
    {
        decision = s switch { "cleared" => CaseDecision.Cleared, "reported" => CaseDecision.Reported, "frozen" => CaseDecision.Frozen, _ => (CaseDecision)(-1) };
        return decision >= CaseDecision.Cleared;
    }
}

/// <summary>One flagged movement of a case.</summary>
internal readonly record struct CaseHit(Guid MovementId, long AmountMinor, long AtUs);

/// <summary>A case as stored, with its hits (oldest first) and their total.</summary>
internal sealed record RiskCase(Guid Id, SubjectType SubjectType, Guid SubjectId, RiskRule Rule, CaseStatus Status, long OpenedAtUs, string? Detail,
    Guid? AssignedTo, CaseDecision? Decision, string? Note, long? ResolvedAtUs, IReadOnlyList<CaseHit> Hits, long AmountTotalMinor);

/// <summary>
/// The cases and their hits (Risk's tables <c>risk_cases</c>, <c>risk_hits</c>). A hit is keyed by (rule, subject,
/// movement), so recording it again is a no-op; hits join the subject's unresolved case of the rule, or open one.
/// </summary>
internal sealed class RiskCases(Db db, TimeProvider clock)
{
    public const int ListLimitMax = 100;

    /// <summary>Hits shown per case in a list; the case page shows them all.</summary>
    public const int ListHitsMax = 100;

    /// <summary>
    /// Records the (subject, rule) findings of one batch in the caller's transaction: the hits not yet recorded for their rule
    /// and subject join its unresolved case, or a new one (opened only when a hit was added). A few statements whatever their
    /// number: one read of the subjects' open cases, one insert of every hit (multi-row on PostgreSQL; one per hit in process
    /// on SQLite), and the new cases. Each finding is a distinct (type, subject, rule).
    /// </summary>
    public async Task AddHitsManyAsync(DbConnection connection, DbTransaction tx,
        IReadOnlyList<(SubjectType Type, Guid Subject, RiskRule Rule, IReadOnlyList<CaseHit> Hits, string Detail)> findings, CancellationToken ct)
    {
        if (findings.Count == 0) return;
        var (inSubjects, ids) = db.IdIn("subject_id", findings.Select(f => f.Subject).Distinct());
        var open = (await connection.QueryAsync<(string Type, Guid Subject, string Rule, Guid Id)>(new CommandDefinition(
                $"SELECT subject_type, subject_id, rule, id FROM risk_cases WHERE {inSubjects} AND status <> 'resolved'", new { ids }, tx, cancellationToken: ct)))
            .ToDictionary(c => (c.Type, c.Subject, c.Rule), c => c.Id);
        var cases = findings.Select(f =>
        {
            var known = open.TryGetValue((AmlNames.Name(f.Type), f.Subject, RiskRules.Name(f.Rule)), out var id);
            return (Finding: f, CaseId: known ? id : Guid.CreateVersion7(clock.GetUtcNow()), Known: known);
        }).ToList();
        var hits = cases.SelectMany(c => c.Finding.Hits.Select(h => (Rule: RiskRules.Name(c.Finding.Rule), c.Finding.Subject, Hit: h, c.CaseId))).ToList();
        // The case ids that got a hit: each finding has its own (the open case's, or a new one's), so this tells them apart.
        HashSet<Guid> added = [];
        if (db.Engine == DatabaseEngine.Postgres)
        {
            var rows = await connection.QueryAsync<Guid>(new CommandDefinition("""
                INSERT INTO risk_hits (rule, subject_id, movement_id, case_id, amount_minor, at_us)
                SELECT * FROM unnest(@rules::text[], @subjects::uuid[], @movements::uuid[], @cases::uuid[], @amounts::bigint[], @ats::bigint[])
                ON CONFLICT DO NOTHING
                RETURNING case_id
                """, new
            {
                rules = hits.Select(h => h.Rule).ToArray(), subjects = hits.Select(h => h.Subject).ToArray(), movements = hits.Select(h => h.Hit.MovementId).ToArray(),
                cases = hits.Select(h => h.CaseId).ToArray(), amounts = hits.Select(h => h.Hit.AmountMinor).ToArray(), ats = hits.Select(h => h.Hit.AtUs).ToArray(),
            }, tx, cancellationToken: ct));
            added.UnionWith(rows);
        }
        else
        {
            foreach (var (rule, subject, hit, caseId) in hits)
            {
                if (await connection.ExecuteAsync(new CommandDefinition("""
                        INSERT INTO risk_hits (rule, subject_id, movement_id, case_id, amount_minor, at_us)
                        VALUES (@rule, @subject, @movementId, @caseId, @amount, @at) ON CONFLICT DO NOTHING
                        """, new { rule, subject, movementId = hit.MovementId, caseId, amount = hit.AmountMinor, at = hit.AtUs }, tx, cancellationToken: ct)) == 1)
                    added.Add(caseId);
            }
        }
        foreach (var (f, caseId, known) in cases)
        {
            if (!known && added.Contains(caseId)) await InsertCaseAsync(connection, tx, caseId, f.Type, f.Subject, f.Rule, f.Detail, ct);
        }
    }

    /// <summary>
    /// Opens a case with no movements (a watchlist hit) unless the subject has an unresolved one of the rule. Returns its id.
    /// </summary>
    public async Task<Guid> EnsureOpenAsync(SubjectType type, Guid subjectId, RiskRule rule, string detail, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        var id = await OpenCaseIdAsync(connection, tx, type, subjectId, rule, ct);
        if (id is null)
        {
            id = Guid.CreateVersion7(clock.GetUtcNow());
            await InsertCaseAsync(connection, tx, id.Value, type, subjectId, rule, detail, ct);
        }
        await tx.CommitAsync(ct);
        return id.Value;
    }

    private static Task<Guid?> OpenCaseIdAsync(DbConnection connection, DbTransaction tx, SubjectType type, Guid subjectId, RiskRule rule, CancellationToken ct) =>
        connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("""
            SELECT id FROM risk_cases WHERE subject_type = @type AND subject_id = @subjectId AND rule = @rule AND status <> 'resolved'
            """, new { type = AmlNames.Name(type), subjectId, rule = RiskRules.Name(rule) }, tx, cancellationToken: ct));

    private async Task InsertCaseAsync(DbConnection connection, DbTransaction tx, Guid id, SubjectType type, Guid subjectId, RiskRule rule, string detail,
        CancellationToken ct)
    {
        // The partial unique index admits one unresolved case per subject and rule; the AML subscriber runs in one process
        // at a time and screening is the only other writer (of watchlist cases), so a conflict here is a real race to surface.
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO risk_cases (id, subject_type, subject_id, rule, status, opened_at_us, detail)
            VALUES (@id, @type, @subjectId, @rule, 'open', @now, @detail)
            """, new { id, type = AmlNames.Name(type), subjectId, rule = RiskRules.Name(rule), now = clock.GetUnixMicroseconds(), detail },
            tx, cancellationToken: ct));
    }

    /// <summary>Newest first, after <paramref name="before"/> (a case id: ids are time-ordered). One more than asked tells whether a next page exists.</summary>
    public async Task<IReadOnlyList<RiskCase>> ListAsync(CaseStatus? status, RiskRule? rule, Guid? before, int limit, CancellationToken ct)
    {
        var where = new List<string>();
        if (status is not null) where.Add("status = @status");
        if (rule is not null) where.Add("rule = @rule");
        if (before is not null) where.Add("id < @before");
        var sql = $"SELECT {CaseColumns} FROM risk_cases {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} ORDER BY id DESC LIMIT @limit";
        await using var connection = await db.OpenAsync(ct);
        var rows = (await connection.QueryAsync<CaseRow>(new CommandDefinition(sql, new
        {
            status = status is { } s ? CaseNames.Name(s) : null, rule = rule is { } r ? RiskRules.Name(r) : null, before = before ?? Guid.Empty, limit,
        }, cancellationToken: ct))).ToList();
        return await WithHitsAsync(connection, rows, ListHitsMax, ct);
    }

    public async Task<RiskCase?> GetAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<CaseRow>(new CommandDefinition($"SELECT {CaseColumns} FROM risk_cases WHERE id = @id",
            new { id }, cancellationToken: ct));
        return row is null ? null : (await WithHitsAsync(connection, [row], int.MaxValue, ct))[0];
    }

    /// <summary>Assigns an unresolved case; false when it is resolved (or missing).</summary>
    public async Task<bool> AssignAsync(Guid id, Guid operatorId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE risk_cases SET status = 'assigned', assigned_to = @operatorId, assigned_at_us = @now WHERE id = @id AND status <> 'resolved'
            """, new { id, operatorId, now = clock.GetUnixMicroseconds() }, cancellationToken: ct)) == 1;
    }

    /// <summary>Resolves an unresolved case; false when it was resolved already (someone else's decision stands).</summary>
    public async Task<bool> ResolveAsync(Guid id, CaseDecision decision, string note, Guid? operatorId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE risk_cases SET status = 'resolved', decision = @decision, note = @note, resolved_by = @operatorId, resolved_at_us = @now
            WHERE id = @id AND status <> 'resolved'
            """, new { id, decision = CaseNames.Name(decision), note, operatorId, now = clock.GetUnixMicroseconds() }, cancellationToken: ct)) == 1;
    }

    /// <summary>
    /// Whether a watchlist case holds the subject back: one that is unresolved, or was resolved as reported or frozen.
    /// </summary>
    public async Task<bool> WatchlistBlocksAsync(SubjectType type, Guid subjectId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            SELECT count(*) FROM risk_cases
            WHERE subject_type = @type AND subject_id = @subjectId AND rule = 'watchlist' AND (status <> 'resolved' OR decision <> 'cleared')
            """, new { type = AmlNames.Name(type), subjectId }, cancellationToken: ct)) > 0;
    }

    private const string CaseColumns = "id, subject_type, subject_id, rule, status, opened_at_us, detail, assigned_to, decision, note, resolved_at_us";

    private async Task<IReadOnlyList<RiskCase>> WithHitsAsync(DbConnection connection, IReadOnlyList<CaseRow> rows, int hitsMax, CancellationToken ct)
    {
        if (rows.Count == 0) return [];
        var (idIn, ids) = db.IdIn("case_id", rows.Select(r => r.id));
        var hits = (await connection.QueryAsync<HitRow>(new CommandDefinition(
            $"SELECT case_id, movement_id, amount_minor, at_us FROM risk_hits WHERE {idIn} ORDER BY at_us, movement_id", new { ids }, cancellationToken: ct)))
            .GroupBy(h => h.case_id).ToDictionary(g => g.Key, g => g.ToList());
        return [.. rows.Select(r =>
        {
            var own = hits.GetValueOrDefault(r.id) ?? [];
            RiskRules.TryParse(r.rule, out var rule);
            CaseNames.TryParseStatus(r.status, out var status);
            CaseDecision? decision = CaseNames.TryParseDecision(r.decision, out var d) ? d : null;
            return new RiskCase(r.id, AmlNames.ParseSubject(r.subject_type), r.subject_id, rule, status, r.opened_at_us, r.detail, r.assigned_to, decision,
                r.note, r.resolved_at_us, [.. own.Take(hitsMax).Select(h => new CaseHit(h.movement_id, h.amount_minor, h.at_us))],
                own.Sum(h => h.amount_minor));
        })];
    }

    private sealed class CaseRow
    {
        public Guid id { get; init; }
        public string subject_type { get; init; } = "";
        public Guid subject_id { get; init; }
        public string rule { get; init; } = "";
        public string status { get; init; } = "";
        public long opened_at_us { get; init; }
        public string? detail { get; init; }
        public Guid? assigned_to { get; init; }
        public string? decision { get; init; }
        public string? note { get; init; }
        public long? resolved_at_us { get; init; }
    }

    private sealed class HitRow
    {
        public Guid case_id { get; init; }
        public Guid movement_id { get; init; }
        public long amount_minor { get; init; }
        public long at_us { get; init; }
    }
}

/// <summary>JSON shapes of cases as operators see them.</summary>
internal static class CaseJson
{
    public static object Case(RiskCase c) => new Dictionary<string, object?>
    {
        ["id"] = c.Id,
        ["subject_type"] = AmlNames.Name(c.SubjectType),
        ["subject_id"] = c.SubjectId,
        ["rule"] = RiskRules.Name(c.Rule),
        ["status"] = CaseNames.Name(c.Status),
        ["opened_at"] = TimeProviderExtensions.FromUnixMicroseconds(c.OpenedAtUs),
        ["detail"] = c.Detail,
        ["assigned_to"] = c.AssignedTo,
        ["decision"] = c.Decision is { } d ? CaseNames.Name(d) : null,
        ["note"] = c.Note,
        ["resolved_at"] = c.ResolvedAtUs is { } r ? TimeProviderExtensions.FromUnixMicroseconds(r) : null,
        ["hits"] = c.Hits.Select(h => new { movement_id = h.MovementId, amount = h.AmountMinor, at = TimeProviderExtensions.FromUnixMicroseconds(h.AtUs) }).ToList(),
        ["amount_total"] = c.AmountTotalMinor,
    };
}
