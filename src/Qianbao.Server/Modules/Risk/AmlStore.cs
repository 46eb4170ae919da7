using System.Data.Common;
using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Risk;

/// <summary>The AML movement log (Risk's table <c>aml_movements</c>): written by the subscriber, read by the rules, case pages and reports.</summary>
internal sealed class AmlStore(Db db)
{
    private const string Columns = "id, event_id, subject_type, subject_id, direction, kind, amount_minor, currency, counterparty_id, reference, at_us";

    /// <summary>
    /// Inserts the movements not stored yet (ids derive from the event, so a redelivered event inserts nothing): one
    /// statement on PostgreSQL, one per movement on SQLite (in process).
    /// </summary>
    public static async Task InsertAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<AmlMovement> movements, CancellationToken ct)
    {
        if (movements.Count == 0) return;
        if (connection is Npgsql.NpgsqlConnection)
        {
            await connection.ExecuteAsync(new CommandDefinition($"""
                INSERT INTO aml_movements ({Columns}, china_date)
                SELECT * FROM unnest(@ids::uuid[], @events::uuid[], @types::text[], @subjects::uuid[], @directions::text[], @kinds::text[], @amounts::bigint[],
                                     @currencies::text[], @counterparties::uuid[], @references::text[], @ats::bigint[], @dates::text[])
                ON CONFLICT (id) DO NOTHING
                """, new
            {
                ids = movements.Select(m => m.Id).ToArray(), events = movements.Select(m => m.EventId).ToArray(),
                types = movements.Select(m => AmlNames.Name(m.SubjectType)).ToArray(), subjects = movements.Select(m => m.SubjectId).ToArray(),
                directions = movements.Select(m => AmlNames.Name(m.Direction)).ToArray(), kinds = movements.Select(m => AmlNames.Name(m.Kind)).ToArray(),
                amounts = movements.Select(m => m.AmountMinor).ToArray(), currencies = movements.Select(m => m.Currency).ToArray(),
                counterparties = movements.Select(m => m.CounterpartyId).ToArray(), references = movements.Select(m => m.Reference).ToArray(),
                ats = movements.Select(m => m.AtUs).ToArray(), dates = movements.Select(m => m.ChinaDate).ToArray(),
            }, tx, cancellationToken: ct));
            return;
        }
        foreach (var m in movements)
        {
            await connection.ExecuteAsync(new CommandDefinition($"""
                INSERT INTO aml_movements ({Columns}, china_date)
                VALUES (@Id, @EventId, @subjectType, @SubjectId, @direction, @kind, @AmountMinor, @Currency, @CounterpartyId, @Reference, @AtUs, @date)
                ON CONFLICT (id) DO NOTHING
                """, new
            {
                m.Id, m.EventId, subjectType = AmlNames.Name(m.SubjectType), m.SubjectId, direction = AmlNames.Name(m.Direction), kind = AmlNames.Name(m.Kind),
                m.AmountMinor, m.Currency, m.CounterpartyId, m.Reference, m.AtUs, date = m.ChinaDate,
            }, tx, cancellationToken: ct));
        }
    }

    /// <summary>The subject's movements with <paramref name="fromUs"/> ≤ at ≤ <paramref name="toUs"/>, oldest first.</summary>
    public static async Task<IReadOnlyList<AmlMovement>> RangeAsync(DbConnection connection, DbTransaction? tx, Guid subjectId, long fromUs, long toUs,
        int limit, CancellationToken ct)
    {
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT {Columns} FROM aml_movements WHERE subject_id = @subjectId AND at_us >= @fromUs AND at_us <= @toUs ORDER BY at_us, id LIMIT @limit
            """, new { subjectId, fromUs, toUs, limit }, tx, cancellationToken: ct));
        return [.. rows.Select(r => r.ToMovement())];
    }

    /// <summary>
    /// <see cref="RangeAsync"/> for many subjects over one window in one read: each subject's movements with
    /// <paramref name="fromUs"/> ≤ at ≤ <paramref name="toUs"/>, oldest first (a subject without any is absent).
    /// </summary>
    public static async Task<Dictionary<Guid, List<AmlMovement>>> RangeManyAsync(DbConnection connection, Db db, IReadOnlyCollection<Guid> subjectIds,
        long fromUs, long toUs, CancellationToken ct)
    {
        var (inSubjects, ids) = db.IdIn("subject_id", subjectIds);
        // PostgreSQL: an index range per subject whatever plan the prepared statement settles on. The callers order each
        // subject's movements themselves.
        var sql = db.Engine == DatabaseEngine.Postgres
            ? $"""
              SELECT m.* FROM unnest(@ids::uuid[]) AS u(id)
              CROSS JOIN LATERAL (SELECT {Columns} FROM aml_movements WHERE subject_id = u.id AND at_us >= @fromUs AND at_us <= @toUs) m
              """
            : $"SELECT {Columns} FROM aml_movements WHERE {inSubjects} AND at_us >= @fromUs AND at_us <= @toUs ORDER BY at_us, id";
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(sql, new { ids, fromUs, toUs }, cancellationToken: ct));
        var bySubject = new Dictionary<Guid, List<AmlMovement>>();
        foreach (var r in rows)
        {
            if (!bySubject.TryGetValue(r.subject_id, out var list)) bySubject[r.subject_id] = list = [];
            list.Add(r.ToMovement());
        }
        return bySubject;
    }

    /// <summary>When the subject last moved money before <paramref name="beforeUs"/>; null if never (as far as the log goes).</summary>
    /// <summary>The subjects' versions in <c>aml_subjects</c> (0 when a subject has none: nothing logged yet).</summary>
    public static async Task<Dictionary<Guid, long>> VersionsAsync(DbConnection connection, Db db, IReadOnlyCollection<Guid> subjectIds, CancellationToken ct)
    {
        var versions = subjectIds.Distinct().ToDictionary(s => s, _ => 0L);
        if (versions.Count == 0) return versions;
        // On PostgreSQL a primary-key probe per id whatever plan the prepared statement settles on.
        var (inSubjects, ids) = db.IdIn("subject_id", versions.Keys);
        var sql = db.Engine == DatabaseEngine.Postgres
            ? "SELECT a.subject_id, a.version FROM unnest(@ids::uuid[]) AS u(id) CROSS JOIN LATERAL (SELECT subject_id, version FROM aml_subjects WHERE subject_id = u.id) a"
            : $"SELECT subject_id, version FROM aml_subjects WHERE {inSubjects}";
        foreach (var (subject, version) in await connection.QueryAsync<(Guid, long)>(new CommandDefinition(sql, new { ids }, cancellationToken: ct)))
            versions[subject] = version;
        return versions;
    }

    /// <summary>
    /// Bumps the subjects' versions (in the transaction that logs their movements and hits) and answers the new ones. In id
    /// order, so two writers (a lapsed lease) lock the rows in one order.
    /// </summary>
    public static async Task<Dictionary<Guid, long>> BumpVersionsAsync(DbConnection connection, DbTransaction tx, Db db, IReadOnlyCollection<Guid> subjectIds,
        CancellationToken ct)
    {
        var sorted = subjectIds.Distinct().Order().ToArray();
        var bumped = new Dictionary<Guid, long>(sorted.Length);
        if (sorted.Length == 0) return bumped;
        if (db.Engine == DatabaseEngine.Postgres)
        {
            foreach (var (subject, version) in await connection.QueryAsync<(Guid, long)>(new CommandDefinition("""
                    INSERT INTO aml_subjects (subject_id, version) SELECT u, 1 FROM unnest(@ids::uuid[]) AS u
                    ON CONFLICT (subject_id) DO UPDATE SET version = aml_subjects.version + 1
                    RETURNING subject_id, version
                    """, new { ids = sorted }, tx, cancellationToken: ct)))
                bumped[subject] = version;
            return bumped;
        }
        foreach (var subject in sorted)
        {
            bumped[subject] = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
                INSERT INTO aml_subjects (subject_id, version) VALUES (@subject, 1)
                ON CONFLICT (subject_id) DO UPDATE SET version = version + 1
                RETURNING version
                """, new { subject }, tx, cancellationToken: ct));
        }
        return bumped;
    }

    /// <summary>The (rule, movement) hits recorded for each subject at or after <paramref name="fromUs"/> (the rules of the AML subscriber).</summary>
    public static async Task<Dictionary<Guid, HashSet<(RiskRule Rule, Guid MovementId)>>> HitsManyAsync(DbConnection connection, Db db,
        IReadOnlyCollection<Guid> subjectIds, long fromUs, CancellationToken ct)
    {
        var found = subjectIds.Distinct().ToDictionary(s => s, _ => new HashSet<(RiskRule, Guid)>());
        if (found.Count == 0) return found;
        var rules = RiskRules.All.Where(r => r != RiskRule.Watchlist).Select(RiskRules.Name).ToArray();
        var (inSubjects, ids) = db.IdIn("subject_id", found.Keys);
        // PostgreSQL: the primary key (rule, subject_id, movement_id) probed per subject and rule.
        var sql = db.Engine == DatabaseEngine.Postgres
            ? """
              SELECT h.rule, h.subject_id, h.movement_id FROM unnest(@ids::uuid[]) AS u(id)
              CROSS JOIN LATERAL (SELECT rule, subject_id, movement_id FROM risk_hits WHERE rule = ANY(@rules) AND subject_id = u.id AND at_us >= @fromUs) h
              """
            : $"SELECT rule, subject_id, movement_id FROM risk_hits WHERE {inSubjects} AND at_us >= @fromUs";
        foreach (var (rule, subject, movement) in await connection.QueryAsync<(string, Guid, Guid)>(new CommandDefinition(sql, new { ids, rules, fromUs },
                     cancellationToken: ct)))
        {
            if (RiskRules.TryParse(rule, out var r) && r != RiskRule.Watchlist) found[subject].Add((r, movement));
        }
        return found;
    }

    public static Task<long?> LastBeforeAsync(DbConnection connection, DbTransaction? tx, Guid subjectId, long beforeUs, CancellationToken ct) =>
        connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
            "SELECT max(at_us) FROM aml_movements WHERE subject_id = @subjectId AND at_us < @beforeUs", new { subjectId, beforeUs }, tx, cancellationToken: ct));

    /// <summary>
    /// <see cref="LastBeforeAsync"/> for many (subject, before) pairs: one statement on PostgreSQL, one per pair on SQLite (in
    /// process). Pairs without an earlier movement are absent.
    /// </summary>
    public static async Task<Dictionary<(Guid SubjectId, long BeforeUs), long>> LastBeforeManyAsync(DbConnection connection,
        IReadOnlyCollection<(Guid SubjectId, long BeforeUs)> pairs, CancellationToken ct)
    {
        var found = new Dictionary<(Guid, long), long>();
        if (pairs.Count == 0) return found;
        if (connection is Npgsql.NpgsqlConnection)
        {
            var rows = await connection.QueryAsync<(Guid SubjectId, long BeforeUs, long? Last)>(new CommandDefinition("""
                SELECT p.s, p.b, (SELECT max(at_us) FROM aml_movements WHERE subject_id = p.s AND at_us < p.b)
                FROM unnest(@subjects::uuid[], @befores::bigint[]) AS p(s, b)
                """, new { subjects = pairs.Select(p => p.SubjectId).ToArray(), befores = pairs.Select(p => p.BeforeUs).ToArray() }, cancellationToken: ct));
            foreach (var (subject, before, last) in rows)
                if (last is { } l) found[(subject, before)] = l;
            return found;
        }
        foreach (var (subject, before) in pairs)
            if (await LastBeforeAsync(connection, null, subject, before, ct) is { } l) found[(subject, before)] = l;
        return found;
    }

    /// <summary>The evidence around a case: the subject's movements within the window, oldest first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<AmlMovement>> AroundAsync(Guid subjectId, long fromUs, long toUs, int limit, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await RangeAsync(connection, null, subjectId, fromUs, toUs, limit, ct);
    }

    /// <summary>The movements of China day <paramref name="day"/> that a large-value hit made reportable, in time order.</summary>
    /// <remarks>
    /// Found from the hits (few: only large-value ones, by the partial index <c>risk_hits_large_value</c>), each joined to its
    /// movement by id: no index on the movements' date, which every movement (two per transfer) paid for on insert while only
    /// this report read it (migration 0047). A hit's <c>at_us</c> is its movement's; the day's bounds are widened by a day on
    /// each side and the movement's own China date decides, so no rounding at midnight can drop or add a movement.
    /// </remarks>
    public async Task<IReadOnlyList<AmlMovement>> LargeValueAsync(DateOnly day, CancellationToken ct)
    {
        var chinaDate = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var fromUs = AmlNames.ChinaDayStartUs(day.AddDays(-1));
        var toUs = AmlNames.ChinaDayStartUs(day.AddDays(2));
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT {string.Join(", ", Columns.Split(", ").Select(c => "m." + c))}
            FROM risk_hits h JOIN aml_movements m ON m.id = h.movement_id AND m.subject_id = h.subject_id
            WHERE h.rule = 'large_value' AND h.at_us >= @fromUs AND h.at_us < @toUs AND m.china_date = @chinaDate
            ORDER BY m.at_us, m.id
            """, new { chinaDate, fromUs, toUs }, cancellationToken: ct));
        return [.. rows.Select(r => r.ToMovement())];
    }

    private sealed class Row
    {
        public Guid id { get; init; }
        public Guid event_id { get; init; }
        public string subject_type { get; init; } = "";
        public Guid subject_id { get; init; }
        public string direction { get; init; } = "";
        public string kind { get; init; } = "";
        public long amount_minor { get; init; }
        public string currency { get; init; } = "";
        public Guid? counterparty_id { get; init; }
        public string reference { get; init; } = "";
        public long at_us { get; init; }

        public AmlMovement ToMovement() => new(id, event_id, AmlNames.ParseSubject(subject_type), subject_id, AmlNames.ParseDirection(direction),
            AmlNames.ParseKind(kind), amount_minor, currency, counterparty_id, reference, at_us);
    }
}
