using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money.Events;

/// <summary>
/// The <c>domain_events</c> table: append inside a caller's transaction, read in delivery order, purge by age. Both
/// engines share every statement except the append (one <c>unnest</c> statement on PostgreSQL, a prepared insert
/// per event on SQLite) and the visibility bound of <see cref="ReadAsync"/>.
/// </summary>
public static class EventLog
{
    /// <summary>Most events in one append (a ledger batch holds at most 65536 transfers).</summary>
    public const int AppendCountMax = 65_536;

    /// <summary>Most events deleted by one purge statement, so a purge never holds a long transaction.</summary>
    public const int PurgeChunkMax = 1_000;

    private const string ReadSql = """
        SELECT tx_id, seq, id, type, stream, CAST(payload AS text), occurred_at_us FROM domain_events
        WHERE {0}
        ORDER BY tx_id, seq
        LIMIT @limit
        """;

    // Only transactions below the snapshot's xmin have certainly finished; see migration 0003. pg_current_snapshot()
    // is the statement's own snapshot, so the bound and the rows read agree.
    // PostgreSQL walks the (tx_id, seq) index from the position for a row comparison. SQLite only bounds the first
    // column of a row comparison, so it would walk every event from the start of the table on each read; there tx_id
    // is always 0, and an equality on it lets the index seek straight to the position.
    private const string PostgresAfter = "(tx_id, seq) > (@tx, @seq) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint";
    private const string SqliteAfter = "tx_id = @tx AND seq > @seq";

    // Deletes only from the head of the delivery order, so the statement reads at most PurgeChunkMax index entries and
    // needs no index on time; an old event behind a newer one waits for a later purge (retention is a minimum).
    private const string PurgeSql = """
        DELETE FROM domain_events WHERE (tx_id, seq) IN (SELECT tx_id, seq FROM domain_events ORDER BY tx_id, seq LIMIT @limit)
        AND occurred_at_us < @cutoff
        """;

    private const string SqliteInsertSql = """
        INSERT INTO domain_events (id, type, stream, payload, occurred_at_us) VALUES (@id, @type, @stream, @payload, @occurred)
        ON CONFLICT (id) DO NOTHING
        """;

    // WITH ORDINALITY keeps the caller's order, so seq follows it. Duplicates (the same event id appended by two
    // transactions at once) wait on the first one's unique-index entry; the ledger's own unique keys meet first there.
    private const string PostgresInsertSql = """
        INSERT INTO domain_events (id, type, stream, payload, occurred_at_us)
        SELECT u.id, u.type, u.stream, u.payload::jsonb, u.occurred
        FROM unnest(@id, @type, @stream, @payload, @occurred) WITH ORDINALITY AS u(id, type, stream, payload, occurred, n)
        ORDER BY u.n
        ON CONFLICT (id) DO NOTHING
        """;

    /// <summary>
    /// The PostgreSQL insert of <paramref name="events"/> appended to a batch someone else executes in its transaction (the ledger
    /// batch's write round trip, issue 13 session 8); the same statement <see cref="AppendAsync"/> runs.
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="AppendAsync"/>.</exception>
    public static void AddTo(NpgsqlBatch batch, IReadOnlyList<DomainEvent> events) => AddRows(batch, Rows(events));

    /// <summary>The rows of <paramref name="events"/>, each payload serialised once, checked against the catalogue and the limits.</summary>
    private static Row[] Rows(IReadOnlyList<DomainEvent> events)
    {
        if (events.Count > AppendCountMax) throw new ArgumentException($"at most {AppendCountMax} events per append, not {events.Count}", nameof(events));
        var rows = new Row[events.Count];
        for (var i = 0; i < rows.Length; i++) rows[i] = Row.Of(events[i]);
        return rows;
    }

    private static void AddRows(NpgsqlBatch batch, Row[] rows)
    {
        var cmd = new NpgsqlBatchCommand(PostgresInsertSql);
        cmd.Parameters.Add(new NpgsqlParameter<Guid[]>("id", [.. rows.Select(r => r.Id)]));
        cmd.Parameters.Add(new NpgsqlParameter<string[]>("type", [.. rows.Select(r => r.Type)]));
        cmd.Parameters.Add(new NpgsqlParameter<string[]>("stream", [.. rows.Select(r => r.Stream)]));
        cmd.Parameters.Add(new NpgsqlParameter<string[]>("payload", [.. rows.Select(r => r.Payload)]) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<long[]>("occurred", [.. rows.Select(r => r.OccurredAtUs)]));
        batch.BatchCommands.Add(cmd);
    }

    /// <summary>
    /// Appends <paramref name="events"/>, in order, inside the caller's open transaction <paramref name="tx"/>: they
    /// become visible when it commits and vanish if it rolls back. An event whose <see cref="DomainEvent.EventId"/> is
    /// already stored (or repeated in the list) is skipped. After the commit, call <see cref="EventSignal.Nudge"/> so
    /// subscribers look now rather than at their next poll.
    /// </summary>
    /// <exception cref="ArgumentException">An event is not in the catalogue, has an empty id, a non-positive time or an over-long stream.</exception>
    public static async ValueTask AppendAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<DomainEvent> events, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) return;
        var rows = Rows(events);

        if (connection is NpgsqlConnection npgsql)
        {
            await using var batch = new NpgsqlBatch(npgsql, (NpgsqlTransaction)tx);
            AddRows(batch, rows);
            await batch.ExecuteNonQueryAsync(ct);
            return;
        }

        if (connection is not SqliteConnection) throw new NotSupportedException($"no event log for {connection.GetType().Name}");
        await using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = SqliteInsertSql;
        var id = Parameter(insert, "id");
        var type = Parameter(insert, "type");
        var stream = Parameter(insert, "stream");
        var payload = Parameter(insert, "payload");
        var occurred = Parameter(insert, "occurred");
        foreach (var row in rows)
        {
            // SQLite keeps ids as canonical lower-case text (see DbValues).
            id.Value = row.Id.ToString();
            type.Value = row.Type;
            stream.Value = row.Stream;
            payload.Value = row.Payload;
            occurred.Value = row.OccurredAtUs;
            await insert.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>
    /// Up to <paramref name="limit"/> committed events after <paramref name="after"/>, oldest first. On PostgreSQL only
    /// those of transactions older than every running one, so no later read can find an event before the last one
    /// returned here: a checkpoint at that position never skips anything.
    /// </summary>
    /// <summary>The position of the last event in the log (committed or not yet visible ones aside), or null when it is empty.</summary>
    public static async Task<EventPosition?> LastPositionAsync(DbConnection connection, CancellationToken ct)
    {
        var row = await Dapper.SqlMapper.QuerySingleOrDefaultAsync<(long TxId, long Seq)?>(connection, new Dapper.CommandDefinition(
            "SELECT tx_id, seq FROM domain_events ORDER BY tx_id DESC, seq DESC LIMIT 1", cancellationToken: ct));
        return row is { } r ? new EventPosition(r.TxId, r.Seq) : null;
    }

    public static async Task<IReadOnlyList<StoredEvent>> ReadAsync(DbConnection connection, EventPosition after, int limit, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = string.Format(System.Globalization.CultureInfo.InvariantCulture, ReadSql, connection is NpgsqlConnection ? PostgresAfter : SqliteAfter);
        AddValue(cmd, "tx", after.TxId);
        AddValue(cmd, "seq", after.Seq);
        AddValue(cmd, "limit", limit);
        var events = new List<StoredEvent>(Math.Min(limit, 1024));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            events.Add(new StoredEvent(new EventPosition(reader.GetInt64(0), reader.GetInt64(1)), reader.ReadId(2), reader.GetString(3),
                reader.GetString(4), reader.GetString(5), reader.GetInt64(6)));
        }
        return events;
    }

    /// <summary>Deletes events that occurred before <paramref name="cutoffUs"/>, oldest first, in bounded chunks. Returns how many.</summary>
    public static async Task<long> PurgeAsync(Db db, long cutoffUs, CancellationToken ct = default)
    {
        long total = 0;
        while (true)
        {
            await using var connection = await db.OpenAsync(ct);
            var deleted = await connection.ExecuteAsync(new CommandDefinition(PurgeSql, new { limit = PurgeChunkMax, cutoff = cutoffUs }, cancellationToken: ct));
            total += deleted;
            // A chunk with anything newer than the cutoff means the head has reached the retained events.
            if (deleted < PurgeChunkMax) return total;
        }
    }

    private static DbParameter Parameter(DbCommand cmd, string name)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        cmd.Parameters.Add(p);
        return p;
    }

    private static void AddValue(DbCommand cmd, string name, object value) => Parameter(cmd, name).Value = value;

    private readonly record struct Row(Guid Id, string Type, string Stream, string Payload, long OccurredAtUs)
    {
        public static Row Of(DomainEvent e)
        {
            ArgumentNullException.ThrowIfNull(e);
            var type = EventTypes.NameOf(e.GetType());
            if (e.EventId == Guid.Empty) throw new ArgumentException($"{type} has no EventId", nameof(e));
            if (e.OccurredAtUs <= 0) throw new ArgumentException($"{type} {e.EventId} has no OccurredAtUs", nameof(e));
            var stream = e.Stream;
            if (string.IsNullOrEmpty(stream) || stream.Length > EventTypes.StreamLengthMax)
                throw new ArgumentException($"{type} {e.EventId} has a stream of {stream?.Length ?? 0} characters; 1..{EventTypes.StreamLengthMax} allowed", nameof(e));
            return new Row(e.EventId, type, stream, EventTypes.Serialize(e), e.OccurredAtUs);
        }
    }
}
