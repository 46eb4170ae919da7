using System.Data.Common;
using Npgsql;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>Which money path a <see cref="TradeGuard"/> protects, and so which state the trade must be in.</summary>
internal enum TradeGuardKind : byte
{
    /// <summary>Waiting for payment, not expired, and either open to any buyer or designated to this one.</summary>
    Payable,

    /// <summary>Paid, with exactly the refunded amount the refund was computed from, and room for the refund.</summary>
    Refundable,

    /// <summary>
    /// Paid, with exactly the refunded and settled totals the settlement's bounds were computed from, and this request
    /// number not settled yet (so a replay never writes its settlement twice).
    /// </summary>
    Settleable,
}

/// <summary>
/// The trade state a payment, refund or settlement was decided on. Checked (and the trade row locked on
/// PostgreSQL) in the ledger batch, so the postings and the trade change commit together or not at all.
/// </summary>
internal sealed record TradeGuard(TradeGuardKind Kind, string TradeNo, long NowUs = 0, Guid? BuyerId = null, long RefundedAmount = 0, long Amount = 0,
    long SettledAmount = 0, string? OutRequestNo = null) : IGuard
{
    public string Key => "trade:" + TradeNo;
}

/// <summary>Evaluates <see cref="TradeGuard"/>s against the trades table, which this module owns.</summary>
internal sealed class TradeGuardChecker : GuardChecker<TradeGuard>
{
    /// <summary>
    /// Checked before the batch's account locks (issue 13, session 8): on PostgreSQL the trade row is locked and every column decided
    /// on is read from the locked row (a row another process's batch changed is re-read at its newest version once its lock is
    /// granted), and a settle guard's settled-request test runs as a statement after the lock (its own snapshot then sees every
    /// settlement committed before it: a settlement writes its row under the trade's lock). SQLite has a single writer.
    /// </summary>
    public override bool ChecksBeforeAccountLocks => true;

    protected override ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<TradeGuard> guards, CancellationToken ct)
    {
        if (connection is NpgsqlConnection pg) return CheckLockedAsync(pg, (NpgsqlTransaction)transaction, guards, ct);
        // SQLite (in process, one writer): one statement per guard costs no round trip.
        var lockRows = SqlBatch.LockRows(connection);
        var queries = new SqlStatement[guards.Count];
        for (var i = 0; i < queries.Length; i++) queries[i] = Query(guards[i], lockRows);
        return SqlBatch.AnyRowsAsync(connection, transaction, queries, ct);
    }

    /// <summary>
    /// PostgreSQL: every trade of the batch locked and read in one statement, one primary-key probe per trade in the guards' order
    /// (key order, so every process locks trade rows in one order), and the state checked here on the locked rows. The guarded
    /// rows stay locked until commit, so the trade change written with the postings is the one checked; a row locked whose state
    /// does not hold is merely locked until the batch ends (its command is rejected).
    /// Why not one <c>SELECT … WHERE trade_no = @trade_no AND status = … AND expires_at_us > @now FOR UPDATE</c> per guard, as
    /// before: its auto-prepared generic plan chose the partial index <c>trades_open_expiry</c> (its predicate is implied by the
    /// status test) and walked every open trade to find one, 8–14 ms per payment with a few thousand open trades, inside the batch
    /// holding the hot accounts' locks (issue 13, session 7: the marketing payment's main wait). Here the probe names nothing but
    /// the primary key, so no other index can serve it.
    /// </summary>
    private static async ValueTask<bool[]> CheckLockedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<TradeGuard> guards,
        CancellationToken ct)
    {
        var tradeNos = new string[guards.Count];
        var requestNos = new string?[guards.Count];
        for (var i = 0; i < guards.Count; i++)
        {
            tradeNos[i] = guards[i].TradeNo;
            requestNos[i] = guards[i].Kind == TradeGuardKind.Settleable ? guards[i].OutRequestNo : null;
        }
        // The settled-request test is a second statement, run once the trade rows are locked: inside the locking statement it would
        // read that statement's snapshot, taken before it waited for a lock another process's settlement held (this checker runs
        // before the account locks, so nothing else made it wait first). Only batches with a settlement pay that round trip.
        var settled = new HashSet<int>();
        if (requestNos.Any(r => r is not null))
        {
            await using var locked = new NpgsqlCommand("""
                SELECT 1 FROM unnest(@nos::text[]) WITH ORDINALITY AS u(no, n)
                CROSS JOIN LATERAL (SELECT 1 FROM trades WHERE trade_no = u.no LIMIT 1 FOR UPDATE) AS t ORDER BY u.n
                """, connection, transaction);
            locked.Parameters.Add(new NpgsqlParameter<string[]>("nos", tradeNos));
            await locked.ExecuteNonQueryAsync(ct);
            await using var requests = new NpgsqlCommand("""
                SELECT u.n FROM unnest(@nos::text[], @reqs::text[]) WITH ORDINALITY AS u(no, req, n)
                WHERE u.req IS NOT NULL AND EXISTS (SELECT 1 FROM trade_settlements s WHERE s.trade_no = u.no AND s.out_request_no = u.req)
                """, connection, transaction);
            requests.Parameters.Add(new NpgsqlParameter<string[]>("nos", tradeNos));
            requests.Parameters.Add(new NpgsqlParameter<string?[]>("reqs", requestNos));
            await using var found = await requests.ExecuteReaderAsync(ct);
            while (await found.ReadAsync(ct)) settled.Add(checked((int)found.GetInt64(0) - 1));
        }
        await using var cmd = new NpgsqlCommand("""
            SELECT u.n, t.status, t.expires_at_us, t.buyer_id, t.total_amount, t.refunded_amount, t.settled_amount
            FROM unnest(@nos::text[]) WITH ORDINALITY AS u(no, n)
            CROSS JOIN LATERAL (SELECT status, expires_at_us, buyer_id, total_amount, refunded_amount, settled_amount
                                FROM trades WHERE trade_no = u.no LIMIT 1 FOR UPDATE) AS t
            ORDER BY u.n
            """, connection, transaction);
        cmd.Parameters.Add(new NpgsqlParameter<string[]>("nos", tradeNos));
        var holds = new bool[guards.Count];
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var i = checked((int)reader.GetInt64(0) - 1);
            var row = new LockedTrade(reader.GetString(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetGuid(3), reader.GetInt64(4),
                reader.GetInt64(5), reader.GetInt64(6), settled.Contains(i));
            holds[i] = Holds(guards[i], row);
        }
        return holds;
    }

    /// <summary>The columns of a locked trade a guard decides on (<see cref="RequestSettled"/>: the settle guard's request number is settled already).</summary>
    private readonly record struct LockedTrade(string Status, long ExpiresAtUs, Guid? BuyerId, long TotalAmount, long RefundedAmount, long SettledAmount,
        bool RequestSettled);

    /// <summary>The same tests as <see cref="Query"/>'s SQL (SQLite), on a locked row.</summary>
    private static bool Holds(TradeGuard g, LockedTrade t) => g.Kind switch
    {
        TradeGuardKind.Payable => t.Status == TradeStatus.WaitBuyerPay && t.ExpiresAtUs > g.NowUs && (t.BuyerId is null || t.BuyerId == g.BuyerId),
        TradeGuardKind.Refundable => t.Status == TradeStatus.Success && t.RefundedAmount == g.RefundedAmount && t.RefundedAmount + g.Amount <= t.TotalAmount,
        TradeGuardKind.Settleable => t.Status == TradeStatus.Success && t.RefundedAmount == g.RefundedAmount && t.SettledAmount == g.SettledAmount
            && !t.RequestSettled,
        _ => throw new ArgumentOutOfRangeException(nameof(g), g.Kind, "unknown trade guard"),
    };

    private static SqlStatement Query(TradeGuard g, string lockRows) => g.Kind switch
    {
        TradeGuardKind.Payable => new(
            $"SELECT 1 FROM trades WHERE trade_no = @trade_no AND status = '{TradeStatus.WaitBuyerPay}' AND expires_at_us > @now AND (buyer_id IS NULL OR buyer_id = @buyer){lockRows}",
            new Dictionary<string, object?> { ["trade_no"] = g.TradeNo, ["now"] = g.NowUs, ["buyer"] = g.BuyerId }),
        TradeGuardKind.Refundable => new(
            $"SELECT 1 FROM trades WHERE trade_no = @trade_no AND status = '{TradeStatus.Success}' AND refunded_amount = @refunded AND refunded_amount + @amount <= total_amount{lockRows}",
            new Dictionary<string, object?> { ["trade_no"] = g.TradeNo, ["refunded"] = g.RefundedAmount, ["amount"] = g.Amount }),
        TradeGuardKind.Settleable => new($"""
            SELECT 1 FROM trades WHERE trade_no = @trade_no AND status = '{TradeStatus.Success}' AND refunded_amount = @refunded AND settled_amount = @settled
            AND NOT EXISTS (SELECT 1 FROM trade_settlements WHERE trade_no = @trade_no AND out_request_no = @out_request_no){lockRows}
            """,
            new Dictionary<string, object?> { ["trade_no"] = g.TradeNo, ["refunded"] = g.RefundedAmount, ["settled"] = g.SettledAmount, ["out_request_no"] = g.OutRequestNo }),
        _ => throw new ArgumentOutOfRangeException(nameof(g), g.Kind, "unknown trade guard"),
    };
}

/// <summary>
/// No trade of the buyer but this one is paid: a payment taking a first-payment discount is decided on that. Keyed by the buyer,
/// so two such payments of one buyer never share a batch and the second sees the first one paid.
/// </summary>
internal sealed record BuyerFirstPaymentGuard(Guid BuyerId, string TradeNo) : IGuard
{
    public string Key => "buyer-first-payment:" + BuyerId.ToString("N");
}

/// <summary>Evaluates <see cref="BuyerFirstPaymentGuard"/>s against the trades table.</summary>
internal sealed class BuyerFirstPaymentGuardChecker : GuardChecker<BuyerFirstPaymentGuard>
{
    protected override ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<BuyerFirstPaymentGuard> guards,
        CancellationToken ct)
    {
        var queries = new SqlStatement[guards.Count];
        for (var i = 0; i < queries.Length; i++)
            queries[i] = new("""
                SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM trades WHERE buyer_id = @buyer AND paid_at_us IS NOT NULL AND trade_no <> @trade_no)
                """, new Dictionary<string, object?> { ["buyer"] = guards[i].BuyerId, ["trade_no"] = guards[i].TradeNo });
        return SqlBatch.AnyRowsAsync(connection, transaction, queries, ct);
    }
}
