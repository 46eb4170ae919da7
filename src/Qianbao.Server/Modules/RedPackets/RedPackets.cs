using System.Data.Common;
using Dapper;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.RedPackets;

/// <summary>How a red packet's amount is cut into shares. Stored as a number; never renumber.</summary>
internal enum RedPacketSplitKind : short
{
    /// <summary>Every share the same: the amount must divide by the count.</summary>
    Fixed = 0,

    /// <summary>Random shares, each at least one fen, drawn at creation by the double-mean method (<see cref="RedPacketSplit.Lucky"/>).</summary>
    Lucky = 1,
}

/// <summary>A red packet's stored state. Stored as a number; never renumber.</summary>
internal enum RedPacketStatus : short
{
    /// <summary>Claimable until it expires (or until every share is claimed; that is read from the shares, not stored).</summary>
    Open = 0,

    /// <summary>Expired: what no one claimed went back to the sender (<c>refunded_amount</c>), exactly once.</summary>
    Expired = 1,
}

internal static class RedPacketNames
{
    public static string Of(RedPacketSplitKind split) => split == RedPacketSplitKind.Fixed ? "fixed" : "lucky";

    public static bool TryParseSplit(string? text, out RedPacketSplitKind split)
    {
        split = text == "lucky" ? RedPacketSplitKind.Lucky : RedPacketSplitKind.Fixed;
        return text is "fixed" or "lucky";
    }
}

/// <summary>One row of <c>red_packets</c>.</summary>
internal sealed class RedPacketRow
{
    public Guid id { get; init; }
    public string code { get; init; } = "";
    public Guid sender_id { get; init; }
    public long amount { get; init; }
    public string currency { get; init; } = "";
    public int share_count { get; init; }
    public short split { get; init; }
    public string message { get; init; } = "";
    public short status { get; init; }
    public long created_at_us { get; init; }
    public long expires_at_us { get; init; }
    public long? refunded_amount { get; init; }
    public long? expired_at_us { get; init; }

    public RedPacketStatus Status => (RedPacketStatus)status;
    public RedPacketSplitKind Split => (RedPacketSplitKind)split;

    /// <summary>Past its expiry at <paramref name="nowUs"/> (whether or not the sweeper has returned the rest yet).</summary>
    public bool ExpiredAt(long nowUs) => Status == RedPacketStatus.Expired || nowUs >= expires_at_us;
}

/// <summary>One row of <c>red_packet_shares</c>.</summary>
internal sealed class RedPacketShareRow
{
    public int seq { get; init; }
    public long amount { get; init; }
    public Guid? claimed_by { get; init; }
    public long? claimed_at_us { get; init; }
}

/// <summary>A change of a red packet's rows, committed with the ledger postings that cause it.</summary>
internal abstract record RedPacketChange(Guid PacketId) : IEffect;

/// <summary>The packet was created (its amount moved to its escrow): the row and every share, fixed now.</summary>
internal sealed record RedPacketOpened(Guid PacketId, string Code, Guid SenderId, long Amount, string Currency, RedPacketSplitKind Split, string Message,
    long CreatedAtUs, long ExpiresAtUs, IReadOnlyList<long> Shares) : RedPacketChange(PacketId);

/// <summary>Share <paramref name="Seq"/> went to <paramref name="UserId"/>.</summary>
internal sealed record RedPacketShareClaimed(Guid PacketId, int Seq, Guid UserId, long AtUs) : RedPacketChange(PacketId);

/// <summary>The packet expired and <paramref name="RefundedAmount"/> went back to the sender.</summary>
internal sealed record RedPacketClosed(Guid PacketId, long RefundedAmount, long AtUs) : RedPacketChange(PacketId);

/// <summary>
/// Writes red-packet changes in the ledger batch transaction. Idempotent, as every effect writer must be: inserts skip
/// what exists, updates are conditional on the state they leave.
/// </summary>
internal sealed class RedPacketWriter : EffectWriter<RedPacketChange>
{
    protected override ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<RedPacketChange> effects, CancellationToken ct)
    {
        var statements = new List<SqlStatement>(effects.Count * 2);
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case RedPacketOpened o:
                    statements.Add(new SqlStatement("""
                        INSERT INTO red_packets (id, code, sender_id, amount, currency, share_count, split, message, status, created_at_us, expires_at_us)
                        VALUES (@id, @code, @sender, @amount, @currency, @count, @split, @message, 0, @now, @expires) ON CONFLICT (id) DO NOTHING
                        """, new Dictionary<string, object?> { ["id"] = o.PacketId, ["code"] = o.Code, ["sender"] = o.SenderId, ["amount"] = o.Amount,
                        ["currency"] = o.Currency, ["count"] = o.Shares.Count, ["split"] = (int)o.Split, ["message"] = o.Message, ["now"] = o.CreatedAtUs,
                        ["expires"] = o.ExpiresAtUs }));
                    var values = new List<string>(o.Shares.Count);
                    var parameters = new Dictionary<string, object?> { ["id"] = o.PacketId };
                    for (var i = 0; i < o.Shares.Count; i++)
                    {
                        values.Add($"(@id, {i}, @a{i})");
                        parameters["a" + i] = o.Shares[i];
                    }
                    statements.Add(new SqlStatement($"INSERT INTO red_packet_shares (packet_id, seq, amount) VALUES {string.Join(", ", values)} ON CONFLICT (packet_id, seq) DO NOTHING",
                        parameters));
                    break;
                case RedPacketShareClaimed c:
                    statements.Add(new SqlStatement(
                        "UPDATE red_packet_shares SET claimed_by = @user, claimed_at_us = @now WHERE packet_id = @id AND seq = @seq AND claimed_by IS NULL",
                        new Dictionary<string, object?> { ["id"] = c.PacketId, ["seq"] = c.Seq, ["user"] = c.UserId, ["now"] = c.AtUs }));
                    break;
                case RedPacketClosed x:
                    statements.Add(new SqlStatement(
                        "UPDATE red_packets SET status = 1, refunded_amount = @refunded, expired_at_us = @now WHERE id = @id AND status = 0",
                        new Dictionary<string, object?> { ["id"] = x.PacketId, ["refunded"] = x.RefundedAmount, ["now"] = x.AtUs }));
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(effects), effect.GetType().Name, "not a red-packet change");
            }
        }
        return SqlBatch.ExecuteAsync(connection, transaction, statements, ct);
    }
}

/// <summary>Which money path a <see cref="RedPacketGuard"/> protects.</summary>
internal enum RedPacketGuardKind : byte
{
    /// <summary>Open, not expired at the claim's time, share <c>Seq</c> unclaimed, and the claimer holding no share of it yet.</summary>
    Claim,

    /// <summary>Open, expired at the sweep's time, and exactly <c>Unclaimed</c> shares unclaimed (the refund was summed from them).</summary>
    Expire,
}

/// <summary>
/// The packet state a claim or an expiry was decided on. Keyed by the packet, so two commands on one packet never share a
/// batch; checked with the packet row locked (PostgreSQL), so claims of one packet are decided one at a time across processes.
/// </summary>
internal sealed record RedPacketGuard(RedPacketGuardKind Kind, Guid PacketId, long NowUs, int Seq = 0, Guid? UserId = null, int Unclaimed = 0) : IGuard
{
    public string Key => "red-packet:" + PacketId.ToString("N");
}

/// <summary>Evaluates <see cref="RedPacketGuard"/>s against this module's tables.</summary>
internal sealed class RedPacketGuardChecker : GuardChecker<RedPacketGuard>
{
    protected override ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<RedPacketGuard> guards, CancellationToken ct)
    {
        var lockRows = SqlBatch.LockRows(connection);
        var queries = new SqlStatement[guards.Count];
        for (var i = 0; i < queries.Length; i++) queries[i] = Query(guards[i], lockRows);
        return SqlBatch.AnyRowsAsync(connection, transaction, queries, ct);
    }

    private static SqlStatement Query(RedPacketGuard g, string lockRows) => g.Kind switch
    {
        RedPacketGuardKind.Claim => new($"""
            SELECT 1 FROM red_packets WHERE id = @id AND status = 0 AND expires_at_us > @now
            AND EXISTS (SELECT 1 FROM red_packet_shares WHERE packet_id = @id AND seq = @seq AND claimed_by IS NULL)
            AND NOT EXISTS (SELECT 1 FROM red_packet_shares WHERE packet_id = @id AND claimed_by = @user){lockRows}
            """, new Dictionary<string, object?> { ["id"] = g.PacketId, ["now"] = g.NowUs, ["seq"] = g.Seq, ["user"] = g.UserId }),
        RedPacketGuardKind.Expire => new($"""
            SELECT 1 FROM red_packets WHERE id = @id AND status = 0 AND expires_at_us <= @now
            AND (SELECT COUNT(*) FROM red_packet_shares WHERE packet_id = @id AND claimed_by IS NULL) = @unclaimed{lockRows}
            """, new Dictionary<string, object?> { ["id"] = g.PacketId, ["now"] = g.NowUs, ["unclaimed"] = g.Unclaimed }),
        _ => throw new ArgumentOutOfRangeException(nameof(g), g.Kind, "unknown red-packet guard"),
    };
}

/// <summary>Reads this module's tables for its endpoints and its sweeper.</summary>
internal sealed class RedPacketStore(Db db)
{
    private const string Columns =
        "id, code, sender_id, amount, currency, share_count, split, message, status, created_at_us, expires_at_us, refunded_amount, expired_at_us";

    public async Task<RedPacketRow?> FindByCodeAsync(string code, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<RedPacketRow>(new CommandDefinition(
            $"SELECT {Columns} FROM red_packets WHERE code = @code", new { code }, cancellationToken: ct));
    }

    public async Task<RedPacketRow?> FindAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<RedPacketRow>(new CommandDefinition(
            $"SELECT {Columns} FROM red_packets WHERE id = @id", new { id }, cancellationToken: ct));
    }

    /// <summary>Every share of the packet, in order (at most 100).</summary>
    public async Task<IReadOnlyList<RedPacketShareRow>> SharesAsync(Guid packetId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<RedPacketShareRow>(new CommandDefinition(
            "SELECT seq, amount, claimed_by, claimed_at_us FROM red_packet_shares WHERE packet_id = @packetId ORDER BY seq",
            new { packetId }, cancellationToken: ct))).AsList();
    }

    /// <summary>Open packets past their expiry at <paramref name="nowUs"/> with a share still unclaimed, soonest expired first.</summary>
    public async Task<IReadOnlyList<RedPacketRow>> DueAsync(long nowUs, int limit, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<RedPacketRow>(new CommandDefinition($"""
            SELECT {Columns} FROM red_packets p WHERE status = 0 AND expires_at_us <= @nowUs
            AND EXISTS (SELECT 1 FROM red_packet_shares s WHERE s.packet_id = p.id AND s.claimed_by IS NULL)
            ORDER BY expires_at_us, id LIMIT @limit
            """, new { nowUs, limit }, cancellationToken: ct))).AsList();
    }
}
