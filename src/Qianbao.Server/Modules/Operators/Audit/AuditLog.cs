using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Operators.Audit;

/// <summary>
/// One audit entry before it is chained: who (<see cref="Actor"/>: an operator id, <c>bootstrap</c>, or the user of a
/// security event) in which <see cref="Role"/> did what (<see cref="Action"/>: a route pattern with its method, or a
/// named action) to what, with what answer, and the state before and after where the handler told it (JSON text).
/// </summary>
internal readonly record struct AuditEntry(string Actor, string Role, string Action, string? Target, long? Status, string? Detail,
    string? BeforeJson, string? AfterJson, string? ClientAddress);

/// <summary>An entry as stored, chained.</summary>
internal sealed record AuditRecord(long Seq, long AtUs, AuditEntry Entry, string PrevHash, string Hash);

/// <summary>What <see cref="AuditLog.VerifyAsync"/> found: the first entry that is not as it was appended, if any.</summary>
internal readonly record struct AuditVerification(bool Ok, long Entries, long? FirstBadSeq, long LastSeq, string LastHash);

/// <summary>
/// The tamper-evident audit trail (<c>audit_log</c>): every operator action and every user security event, hash-chained.
/// Entry <c>n</c> stores <c>seq = n</c> (no gaps: each append takes the last seq + 1 while it holds the append lock, so a
/// rolled-back append leaves no hole) and <c>hash = SHA-256(prev_hash "\n" canonical(entry))</c> where <c>prev_hash</c> is
/// entry <c>n-1</c>'s hash (64 zeros for the first). Changing a row breaks its hash; deleting one leaves a gap in seq or a
/// broken prev link; <see cref="VerifyAsync"/> finds both. Truncating the newest entries leaves a valid shorter chain: that
/// is caught only by comparing with a head (<see cref="AuditVerification.LastSeq"/>, <see cref="AuditVerification.LastHash"/>)
/// recorded outside the database. Appends are serialised so the chain never forks: on PostgreSQL by a transaction-scoped
/// advisory lock taken before the previous hash is read (held until the caller's commit, so callers append last in their
/// transaction, after their own row locks); on SQLite by its single writer (transactions begin IMMEDIATE).
/// </summary>
internal sealed class AuditLog(Db db, TimeProvider clock)
{
    public static readonly string GenesisHash = new('0', 64);
    private const long AppendLockKey = 0x5141_4155_4449_54; // "QAAUDIT"
    private const int VerifyPageSize = 1000;

    /// <summary>Appends <paramref name="entry"/> in the caller's transaction (it commits or rolls back with what it records).</summary>
    public async Task<AuditRecord> AppendAsync(DbConnection connection, DbTransaction tx, AuditEntry entry, CancellationToken ct)
    {
        if (db.Engine == DatabaseEngine.Postgres)
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@key)", new { key = AppendLockKey }, tx, cancellationToken: ct));
        var last = await connection.QuerySingleOrDefaultAsync<(long Seq, string Hash)?>(new CommandDefinition(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", transaction: tx, cancellationToken: ct));
        var seq = (last?.Seq ?? 0) + 1;
        var prev = last?.Hash ?? GenesisHash;
        var atUs = clock.GetUnixMicroseconds();
        var hash = Hash(prev, seq, atUs, entry);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO audit_log (seq, at_us, actor, role, action, target, status, detail, before_json, after_json, client_address, prev_hash, hash)
            VALUES (@seq, @atUs, @actor, @role, @action, @target, @status, @detail, @before, @after, @clientAddress, @prev, @hash)
            """, new
        {
            seq, atUs, actor = entry.Actor, role = entry.Role, action = entry.Action, target = entry.Target, status = entry.Status, detail = entry.Detail,
            before = entry.BeforeJson, after = entry.AfterJson, clientAddress = entry.ClientAddress, prev, hash,
        }, tx, cancellationToken: ct));
        return new AuditRecord(seq, atUs, entry, prev, hash);
    }

    /// <summary>Appends <paramref name="entry"/> in a transaction of its own.</summary>
    public async Task<AuditRecord> AppendAsync(AuditEntry entry, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var record = await AppendAsync(connection, tx, entry, ct);
        await tx.CommitAsync(ct);
        return record;
    }

    /// <summary>Newest first, before <paramref name="beforeSeq"/>, filtered; at most <paramref name="limit"/> entries.</summary>
    public async Task<IReadOnlyList<AuditRecord>> PageAsync(string? actor, string? target, long fromUs, long toUs, long beforeSeq, int limit, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT {Columns} FROM audit_log
            WHERE seq < @beforeSeq AND (@actor IS NULL OR actor = @actor) AND (@target IS NULL OR target = @target)
              AND at_us >= @fromUs AND at_us < @toUs
            ORDER BY seq DESC
            LIMIT {limit}
            """, new { beforeSeq, actor, target, fromUs, toUs }, cancellationToken: ct));
        return [.. rows.Select(r => r.ToRecord())];
    }

    /// <summary>
    /// Recomputes the whole chain in seq order: the first entry whose seq is not the next one (a deleted row: the missing
    /// seq is reported), whose prev_hash is not the previous entry's hash, or whose hash is not its content's, is
    /// <see cref="AuditVerification.FirstBadSeq"/>.
    /// </summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        long entries = 0, expectedSeq = 1, afterSeq = 0;
        long? firstBad = null;
        var prev = GenesisHash;
        var lastHash = GenesisHash;
        while (true)
        {
            var page = (await connection.QueryAsync<Row>(new CommandDefinition(
                $"SELECT {Columns} FROM audit_log WHERE seq > @afterSeq ORDER BY seq LIMIT {VerifyPageSize}",
                new { afterSeq }, cancellationToken: ct))).AsList();
            foreach (var row in page)
            {
                entries++;
                afterSeq = row.seq;
                lastHash = row.hash;
                if (firstBad is not null) continue;
                if (row.seq != expectedSeq) firstBad = expectedSeq;
                else if (row.prev_hash != prev || Hash(row.prev_hash, row.seq, row.at_us, row.ToRecord().Entry) != row.hash) firstBad = row.seq;
                prev = row.hash;
                expectedSeq++;
            }
            if (page.Count < VerifyPageSize) break;
        }
        return new AuditVerification(firstBad is null, entries, firstBad, afterSeq, lastHash);
    }

    /// <summary>Lower-case hex SHA-256 over the previous hash and the canonical form of the entry.</summary>
    public static string Hash(string prevHash, long seq, long atUs, AuditEntry entry) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prevHash + "\n" + Canonical(seq, atUs, entry))));

    /// <summary>
    /// Every field in a fixed order, each as <c>&lt;UTF-8 byte length&gt;:&lt;text&gt;;</c> (<c>~;</c> for null), so no two
    /// different entries share a serialisation whatever their text contains. Stored JSON is hashed as the text stored.
    /// Never change this: every stored hash depends on it.
    /// </summary>
    public static string Canonical(long seq, long atUs, AuditEntry e)
    {
        var s = new StringBuilder("qianbao-audit-v1;");
        foreach (var field in (string?[])[
                     seq.ToString(CultureInfo.InvariantCulture), atUs.ToString(CultureInfo.InvariantCulture), e.Actor, e.Role, e.Action, e.Target,
                     e.Status?.ToString(CultureInfo.InvariantCulture), e.Detail, e.BeforeJson, e.AfterJson, e.ClientAddress])
        {
            if (field is null) s.Append("~;");
            else s.Append(Encoding.UTF8.GetByteCount(field).ToString(CultureInfo.InvariantCulture)).Append(':').Append(field).Append(';');
        }
        return s.ToString();
    }

    private const string Columns = "seq, at_us, actor, role, action, target, status, detail, before_json, after_json, client_address, prev_hash, hash";

    private sealed class Row
    {
        public long seq { get; init; }
        public long at_us { get; init; }
        public string actor { get; init; } = "";
        public string role { get; init; } = "";
        public string action { get; init; } = "";
        public string? target { get; init; }
        public long? status { get; init; }
        public string? detail { get; init; }
        public string? before_json { get; init; }
        public string? after_json { get; init; }
        public string? client_address { get; init; }
        public string prev_hash { get; init; } = "";
        public string hash { get; init; } = "";

        public AuditRecord ToRecord() => new(seq, at_us,
            new AuditEntry(actor, role, action, target, status, detail, before_json, after_json, client_address), prev_hash, hash);
    }
}
