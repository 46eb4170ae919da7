using System.Data.Common;
using Dapper;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Points;

/// <summary>What a history item records. Stored as a number; never renumber.</summary>
internal enum PointsItemKind : short
{
    /// <summary>A payment earned points (amount credited; <c>withheld</c> kept back against an earlier shortfall).</summary>
    Earn = 0,

    /// <summary>A refund took back earned points (amount taken; <c>shortfall</c> what the balance could not cover).</summary>
    Clawback = 1,

    /// <summary>What remained of a lot expired.</summary>
    Expiry = 2,

    /// <summary>A refund gave back points redeemed at its trade's payment (a new lot).</summary>
    RedemptionReturn = 3,
}

internal static class PointsItemNames
{
    public static string Of(PointsItemKind kind) => kind switch
    {
        PointsItemKind.Earn => "earn",
        PointsItemKind.Clawback => "clawback",
        PointsItemKind.RedemptionReturn => "redemption_return",
        _ => "expiry",
    };
}

/// <summary>
/// A change of the points tables, committed with the ledger transfer it explains (or alone, when no point moves). Each
/// carries the id of its history item, which is its idempotency key: a redelivered event or a replayed command whose
/// transfer exists writes nothing a second time.
/// </summary>
internal abstract record PointsChange(Guid UserId, Guid ItemId, long AtUs) : IEffect;

/// <summary>A payment earned <see cref="Gross"/>: <see cref="Withheld"/> paid off the user's shortfall, <see cref="Net"/> credited as a new lot.</summary>
internal sealed record PointsEarned(Guid UserId, Guid ItemId, long AtUs, string TradeNo, long TotalMinor, long Gross, long Withheld, long Net,
    string EarnedMonth, long ExpiresAtUs) : PointsChange(UserId, ItemId, AtUs);

/// <summary>
/// A refund of the trade brought what it must take back to <see cref="RefundedTotalMinor"/>'s share: <see cref="Due"/> more,
/// of which <see cref="Taken"/> left the balance (lots consumed first-in-first-out) and the rest joins the shortfall.
/// </summary>
internal sealed record PointsClawedBack(Guid UserId, Guid ItemId, long AtUs, string TradeNo, long RefundedTotalMinor, long Due, long Taken)
    : PointsChange(UserId, ItemId, AtUs);

/// <summary>What remained of a lot (<see cref="Amount"/>, checked by the command's guard) expired.</summary>
internal sealed record PointsLotExpired(Guid UserId, Guid ItemId, long AtUs, Guid LotId, long Amount) : PointsChange(UserId, ItemId, AtUs);

/// <summary>
/// Points that left the user's points account by a redemption at payment (<see cref="PointsRedemption"/>): consumes lots first-in-
/// first-out, only those still good past <see cref="PointsStore.RedemptionExpiryMarginUs"/> after <see cref="PointsChange.AtUs"/>.
/// Its item id is the redemption transfer's id (recorded as an item the points history does not show; the payment's history
/// does), so a replayed payment consumes nothing twice.
/// </summary>
internal sealed record PointsConsumed(Guid UserId, Guid ItemId, long AtUs, long Amount) : PointsChange(UserId, ItemId, AtUs);

/// <summary>
/// A refund gave back <see cref="Amount"/> redeemed points: a new lot (id = the item's = the return transfer's) that expires as
/// points earned at the payment would (<see cref="ExpiresAtUs"/>), so a refund never extends the life of redeemed points.
/// </summary>
internal sealed record PointsRedemptionReturned(Guid UserId, Guid ItemId, long AtUs, string TradeNo, long Amount, string EarnedMonth, long ExpiresAtUs)
    : PointsChange(UserId, ItemId, AtUs);

/// <summary>
/// Serializes the points commands of one user (two never share a batch, so each sees the other's committed lots) and,
/// for an expiry, holds only while the lot still has exactly <see cref="LotRemaining"/> left and has not expired.
/// </summary>
internal sealed record PointsUserGuard(Guid UserId, Guid? LotId = null, long LotRemaining = 0) : IGuard
{
    public string Key => "points:" + UserId.ToString("N");
}

/// <summary>Checks <see cref="PointsUserGuard"/>s in the batch transaction (the user's points account is locked by then on PostgreSQL).</summary>
internal sealed class PointsGuardChecker(Db db) : GuardChecker<PointsUserGuard>
{
    protected override async ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<PointsUserGuard> guards, CancellationToken ct)
    {
        var holds = new bool[guards.Count];
        var lockClause = db.Engine == DatabaseEngine.Postgres ? " FOR UPDATE" : "";
        for (var i = 0; i < guards.Count; i++)
        {
            if (guards[i].LotId is not { } lot) { holds[i] = true; continue; }
            var remaining = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
                "SELECT remaining FROM points_lots WHERE id = @lot AND expired_at_us IS NULL" + lockClause, new { lot }, transaction, cancellationToken: ct));
            holds[i] = remaining == guards[i].LotRemaining;
        }
        return holds;
    }
}

/// <summary>
/// The user's lots still good at <see cref="LiveAtUs"/> hold at least <see cref="Points"/>: a redemption at payment is decided on
/// that, so its consumption never meets lots it cannot take. Keyed as <see cref="PointsUserGuard"/>, so it never shares a batch
/// with another points command of the user (an expiry, a clawback, another redemption) and sees what they left.
/// </summary>
internal sealed record PointsUsableGuard(Guid UserId, long Points, long LiveAtUs) : IGuard
{
    public string Key => "points:" + UserId.ToString("N");
}

/// <summary>Checks <see cref="PointsUsableGuard"/>s in the batch transaction.</summary>
internal sealed class PointsUsableGuardChecker : GuardChecker<PointsUsableGuard>
{
    /// <summary>
    /// Checked before the batch's account locks (issue 13, session 8), so on PostgreSQL it locks lots it sums (FOR UPDATE) rather
    /// than rely on the user's points account lock: a concurrent batch of another process that consumes, claws back or expires any of
    /// them holds them until it commits, and the sum then reads their newest remaining. A lot inserted meanwhile (an earning) is not
    /// counted, which can only refuse a redemption the user could have made, never allow one the lots do not cover. The lots locked
    /// are the first ones (in consumption order) that cover the points, all good past the payment's margin, never a lot the expiry
    /// sweep takes (due ones). SQLite has a single writer.
    /// </summary>
    public override bool ChecksBeforeAccountLocks => true;

    protected override async ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<PointsUsableGuard> guards,
        CancellationToken ct)
    {
        if (connection is Npgsql.NpgsqlConnection)
        {
            // PostgreSQL: the batch's users in one statement. Per user, the lots with points left that are good past the margin, in
            // the order the redemption consumes them (expires_at_us, earned_at_us, id), read through points_lots_user; the first
            // ones that cover the points are locked, each by its id, and summed again once locked. Should another process have
            // taken from them meanwhile, every such lot is locked and summed instead (the second operand of the OR runs only then).
            // Why this shape (issue 13):
            // - Only the covering lots are locked: locking every good lot wrote a row lock per lot, 18 Heap/LOCK WAL records (1 KB)
            //   per coupon-and-points payment in the bench, and a person who earns on every payment holds hundreds (session 13).
            // - `remaining <> 0`, not `> 0` (the same rows: remaining is never negative, and an emptied lot never fills again; a
            //   returned redemption is a new lot): `> 0` lets the auto-prepared generic plan take the partial index points_lots_due
            //   (every live lot of everyone) or, planned while the table was small, a sequential scan it kept as the table grew
            //   (session 7: 7 ms per payment inside the batch holding the hot accounts' locks).
            // - Each first lot by its id apart (a LATERAL with LIMIT): as `id = ANY(…)` the generic plan made on a small table scanned
            //   the whole table for them (session 13: 0.8–1 ms per payment).
            var holds = new bool[guards.Count];
            var passed = await connection.QueryAsync<long>(new CommandDefinition("""
                SELECT u.n FROM unnest(@users::uuid[], @afters::bigint[], @points::bigint[]) WITH ORDINALITY AS u(id, after_us, points, n)
                WHERE (SELECT COALESCE(SUM(l.remaining), 0)
                       FROM unnest(ARRAY(SELECT f.id FROM (SELECT id, sum(remaining) OVER (ORDER BY expires_at_us, earned_at_us, id) - remaining AS before
                                                           FROM points_lots WHERE user_id = u.id AND expires_at_us > u.after_us AND remaining <> 0) AS f
                                         WHERE f.before < u.points)) AS first(id)
                       CROSS JOIN LATERAL (SELECT remaining FROM points_lots WHERE id = first.id AND expires_at_us > u.after_us LIMIT 1 FOR UPDATE) AS l)
                      >= u.points
                   OR (SELECT COALESCE(SUM(l.remaining), 0) FROM (SELECT remaining FROM points_lots
                                                                  WHERE user_id = u.id AND expires_at_us > u.after_us AND remaining <> 0
                                                                  FOR UPDATE) AS l) >= u.points
                """, new
            {
                users = guards.Select(g => g.UserId).ToArray(), afters = guards.Select(g => g.LiveAtUs).ToArray(), points = guards.Select(g => g.Points).ToArray(),
            }, transaction, cancellationToken: ct));
            foreach (var n in passed) holds[checked((int)n - 1)] = true;
            return holds;
        }
        var queries = new SqlStatement[guards.Count];
        for (var i = 0; i < queries.Length; i++)
            queries[i] = new("""
                SELECT 1 WHERE (SELECT COALESCE(SUM(remaining), 0) FROM points_lots WHERE user_id = @user AND remaining > 0 AND expires_at_us > @after) >= @points
                """, new Dictionary<string, object?> { ["user"] = guards[i].UserId, ["after"] = guards[i].LiveAtUs, ["points"] = guards[i].Points });
        return await SqlBatch.AnyRowsAsync(connection, transaction, queries, ct);
    }
}

/// <summary>Writes <see cref="PointsChange"/>s in the ledger batch transaction, one after another in command order.</summary>
internal sealed class PointsWriter : IBatchingEffectWriter
{
    public Type EffectType => typeof(PointsChange);

    /// <summary>
    /// A payments batch's redemptions alone (distinct users, as <see cref="PointsStore.WriteEarnedAndConsumedAsync"/> requires) ride in
    /// the ledger batch's write round trip on PostgreSQL (issue 13, session 8): one statement, its coverage checked afterwards.
    /// </summary>
    public bool TryAddTo(Npgsql.NpgsqlBatch batch, IReadOnlyList<IEffect> effects, List<Action> afterwards)
    {
        if (!effects.All(e => e is PointsConsumed) || effects.Select(e => ((PointsChange)e).UserId).Distinct().Count() != effects.Count) return false;
        PointsStore.AddConsumedTo(batch, [.. effects.Cast<PointsConsumed>()], afterwards);
        return true;
    }

    public async ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IEffect> effects, CancellationToken ct)
    {
        if (connection is Npgsql.NpgsqlConnection && effects.Count > 1 && effects.All(e => e is PointsEarned or PointsConsumed)
            && effects.Select(e => ((PointsChange)e).UserId).Distinct().Count() == effects.Count)
        {
            await PointsStore.WriteEarnedAndConsumedAsync(connection, transaction, [.. effects.Cast<PointsChange>()], ct);
            return;
        }
        foreach (var effect in effects) await PointsStore.WriteAsync(connection, transaction, (PointsChange)effect, ct);
    }
}

/// <summary>The SQL of the points tables: the writes behind every <see cref="PointsChange"/>, and the reads of the module.</summary>
internal sealed class PointsStore(Db db)
{
    /// <summary>Most history items <c>GET /v1/points</c> shows.</summary>
    public const int ItemsMax = 50;

    /// <summary>Most distinct expiry dates <c>GET /v1/points</c> shows (a year of monthly lots, and then some).</summary>
    public const int ExpiringMax = 24;

    private const short ConsumedKind = 100;

    /// <summary>
    /// A redemption leaves alone lots that expire within this of its time: an expiry command of the same user may share the
    /// payment's batch (the payment carries its trade's guard, not the user's), and it must find its lot as its guard saw it.
    /// The margin covers the time between a sweep's read and its batch, and clock skew between processes.
    /// </summary>
    public const long RedemptionExpiryMarginUs = 5 * 60 * 1_000_000L;

    /// <summary>
    /// Applies one change. The history item goes first with ON CONFLICT DO NOTHING: when it was there already, this change
    /// was written before (a replayed command, a redelivered event) and nothing else is touched.
    /// </summary>
    public static async Task WriteAsync(DbConnection connection, DbTransaction tx, PointsChange change, CancellationToken ct)
    {
        var (kind, amount, withheld, shortfall, tradeNo, lotId) = change switch
        {
            PointsEarned e => (PointsItemKind.Earn, e.Net, e.Withheld, 0L, e.TradeNo, e.Net > 0 ? e.ItemId : (Guid?)null),
            PointsClawedBack c => (PointsItemKind.Clawback, c.Taken, 0L, c.Due - c.Taken, c.TradeNo, (Guid?)null),
            PointsLotExpired x => (PointsItemKind.Expiry, x.Amount, 0L, 0L, (string?)null, x.LotId),
            PointsConsumed u => ((PointsItemKind)ConsumedKind, u.Amount, 0L, 0L, (string?)null, (Guid?)null),
            PointsRedemptionReturned r => (PointsItemKind.RedemptionReturn, r.Amount, 0L, 0L, r.TradeNo, r.ItemId),
            _ => throw new ArgumentOutOfRangeException(nameof(change), change.GetType().Name, "not a points change"),
        };
        var inserted = await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO points_items (id, user_id, kind, amount, withheld, shortfall, trade_no, lot_id, at_us)
            VALUES (@id, @user, @kind, @amount, @withheld, @shortfall, @tradeNo, @lotId, @at) ON CONFLICT (id) DO NOTHING
            """, new { id = change.ItemId, user = change.UserId, kind = (short)kind, amount, withheld, shortfall, tradeNo, lotId, at = change.AtUs },
            tx, cancellationToken: ct));
        if (inserted == 0) return;

        switch (change)
        {
            case PointsEarned e:
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO points_trades (trade_no, user_id, total_minor, earned, earned_at_us) VALUES (@TradeNo, @UserId, @TotalMinor, @Gross, @AtUs)
                    """, e, tx, cancellationToken: ct));
                if (e.Withheld > 0) await AddShortfallAsync(connection, tx, e.UserId, -e.Withheld, ct);
                if (e.Net > 0)
                {
                    await connection.ExecuteAsync(new CommandDefinition("""
                        INSERT INTO points_lots (id, user_id, trade_no, amount, remaining, earned_month, earned_at_us, expires_at_us)
                        VALUES (@ItemId, @UserId, @TradeNo, @Net, @Net, @EarnedMonth, @AtUs, @ExpiresAtUs)
                        """, e, tx, cancellationToken: ct));
                }
                break;
            case PointsClawedBack c:
                await connection.ExecuteAsync(new CommandDefinition("""
                    UPDATE points_trades SET clawed_back = clawed_back + @Due,
                        refunded_minor = CASE WHEN refunded_minor > @RefundedTotalMinor THEN refunded_minor ELSE @RefundedTotalMinor END
                    WHERE trade_no = @TradeNo
                    """, c, tx, cancellationToken: ct));
                if (c.Due > c.Taken) await AddShortfallAsync(connection, tx, c.UserId, c.Due - c.Taken, ct);
                // The clawback holds the user's guard, so no expiry shares its batch: it may take lots already due, oldest first.
                await ConsumeAsync(connection, tx, c.UserId, c.Taken, liveAtUs: null, ct);
                break;
            case PointsLotExpired x:
                var updated = await connection.ExecuteAsync(new CommandDefinition("""
                    UPDATE points_lots SET remaining = remaining - @Amount, expired = expired + @Amount, expired_at_us = @AtUs
                    WHERE id = @LotId AND remaining = @Amount AND expired_at_us IS NULL
                    """, x, tx, cancellationToken: ct));
                Ledger.Invariant.That(updated == 1, $"points lot {x.LotId} changed under its expiry's guard");
                break;
            case PointsRedemptionReturned r:
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO points_lots (id, user_id, trade_no, amount, remaining, earned_month, earned_at_us, expires_at_us)
                    VALUES (@ItemId, @UserId, @TradeNo, @Amount, @Amount, @EarnedMonth, @AtUs, @ExpiresAtUs)
                    """, r, tx, cancellationToken: ct));
                break;
            case PointsConsumed u:
                // A payment's chain carries the payment's own guard, so an expiry of this user may share its batch: it must not
                // touch lots due (the sweeper's) or nearly due, only those still good a margin past the payment's time.
                await ConsumeAsync(connection, tx, u.UserId, u.Amount, liveAtUs: u.AtUs + RedemptionExpiryMarginUs, ct);
                break;
        }
    }

    /// <summary>
    /// The earnings and redemptions of one ledger batch on PostgreSQL, a statement per step instead of per change (the batch holds
    /// its accounts' locks meanwhile): the history items in one insert (those already there, a replayed command's, change nothing
    /// more), the earnings' trades and lots in one insert each, the redeeming users' lots read in one query and consumed in one
    /// update. Only for changes of distinct users (the points guards keep one user's commands in separate batches, so that is the
    /// rule; anything else goes one by one), so each user's lots are consumed exactly as <see cref="ConsumeAsync"/> would.
    /// </summary>
    public static async Task WriteEarnedAndConsumedAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<PointsChange> changes, CancellationToken ct)
    {
        if (changes.All(c => c is PointsConsumed))
        {
            await WriteConsumedAsync(connection, tx, [.. changes.Cast<PointsConsumed>()], ct);
            return;
        }
        var inserted = (await connection.QueryAsync<Guid>(new CommandDefinition("""
            INSERT INTO points_items (id, user_id, kind, amount, withheld, shortfall, trade_no, lot_id, at_us)
            SELECT * FROM unnest(@ids::uuid[], @users::uuid[], @kinds::smallint[], @amounts::bigint[], @withhelds::bigint[], @shortfalls::bigint[],
                @trades::text[], @lots::uuid[], @ats::bigint[])
            ON CONFLICT (id) DO NOTHING RETURNING id
            """, new
        {
            ids = changes.Select(c => c.ItemId).ToArray(), users = changes.Select(c => c.UserId).ToArray(),
            kinds = changes.Select(c => c is PointsEarned ? (short)PointsItemKind.Earn : ConsumedKind).ToArray(),
            amounts = changes.Select(c => c is PointsEarned e ? e.Net : ((PointsConsumed)c).Amount).ToArray(),
            withhelds = changes.Select(c => c is PointsEarned e ? e.Withheld : 0L).ToArray(),
            shortfalls = changes.Select(_ => 0L).ToArray(),
            trades = changes.Select(c => (c as PointsEarned)?.TradeNo).ToArray(),
            lots = changes.Select(c => c is PointsEarned { Net: > 0 } e ? e.ItemId : (Guid?)null).ToArray(),
            ats = changes.Select(c => c.AtUs).ToArray(),
        }, tx, cancellationToken: ct))).ToHashSet();
        var earned = changes.OfType<PointsEarned>().Where(e => inserted.Contains(e.ItemId)).ToList();
        var consumed = changes.OfType<PointsConsumed>().Where(u => inserted.Contains(u.ItemId) && u.Amount > 0).ToList();
        if (earned.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO points_trades (trade_no, user_id, total_minor, earned, earned_at_us)
                SELECT * FROM unnest(@trades::text[], @users::uuid[], @totals::bigint[], @grosses::bigint[], @ats::bigint[])
                """, new
            {
                trades = earned.Select(e => e.TradeNo).ToArray(), users = earned.Select(e => e.UserId).ToArray(),
                totals = earned.Select(e => e.TotalMinor).ToArray(), grosses = earned.Select(e => e.Gross).ToArray(), ats = earned.Select(e => e.AtUs).ToArray(),
            }, tx, cancellationToken: ct));
            foreach (var e in earned.Where(e => e.Withheld > 0)) await AddShortfallAsync(connection, tx, e.UserId, -e.Withheld, ct);
            var lots = earned.Where(e => e.Net > 0).ToList();
            if (lots.Count > 0)
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO points_lots (id, user_id, trade_no, amount, remaining, earned_month, earned_at_us, expires_at_us)
                    SELECT id, u, t, n, n, m, a, x FROM unnest(@ids::uuid[], @users::uuid[], @trades::text[], @nets::bigint[], @months::text[], @ats::bigint[],
                        @expires::bigint[]) AS l(id, u, t, n, m, a, x)
                    """, new
                {
                    ids = lots.Select(e => e.ItemId).ToArray(), users = lots.Select(e => e.UserId).ToArray(), trades = lots.Select(e => e.TradeNo).ToArray(),
                    nets = lots.Select(e => e.Net).ToArray(), months = lots.Select(e => e.EarnedMonth).ToArray(), ats = lots.Select(e => e.AtUs).ToArray(),
                    expires = lots.Select(e => e.ExpiresAtUs).ToArray(),
                }, tx, cancellationToken: ct));
        }
        if (consumed.Count == 0) return;
        // As ConsumeAsync: each user's lots still good a margin past the payment's time, soonest expiry first.
        var rows = (await connection.QueryAsync<PointsLotRow>(new CommandDefinition("""
            SELECT l.id, l.user_id, l.remaining, l.expires_at_us FROM unnest(@users::uuid[], @afters::bigint[]) AS p(u, a)
            JOIN points_lots l ON l.user_id = p.u AND l.remaining > 0 AND l.expires_at_us > p.a
            ORDER BY l.user_id, l.expires_at_us, l.earned_at_us, l.id
            """, new
        {
            users = consumed.Select(u => u.UserId).ToArray(), afters = consumed.Select(u => u.AtUs + RedemptionExpiryMarginUs).ToArray(),
        }, tx, cancellationToken: ct))).AsList();
        var left = consumed.ToDictionary(u => u.UserId, u => u.Amount);
        var takes = new List<(Guid Id, long Take)>();
        foreach (var lot in rows)
        {
            var want = left[lot.user_id];
            if (want == 0) continue;
            var take = Math.Min(want, lot.remaining);
            takes.Add((lot.id, take));
            left[lot.user_id] = want - take;
        }
        foreach (var (userId, amount) in left)
            Ledger.Invariant.That(amount == 0, $"the points lots of {userId} do not cover what the ledger took from the points account");
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE points_lots l SET remaining = l.remaining - t.take FROM unnest(@ids::uuid[], @takes::bigint[]) AS t(id, take) WHERE l.id = t.id
            """, new { ids = takes.Select(t => t.Id).ToArray(), takes = takes.Select(t => t.Take).ToArray() }, tx, cancellationToken: ct));
    }

    /// <summary>
    /// A payments batch's redemptions (distinct users, as <see cref="WriteEarnedAndConsumedAsync"/> requires) in one statement instead
    /// of three round trips while the batch holds its accounts' locks (issue 13, session 7): the history items inserted (a replayed
    /// one, already there, consumes nothing more), then for the new ones each user's lots still good a margin past the payment's
    /// time consumed soonest expiry first (expires_at_us, earned_at_us, id: the order <see cref="ConsumeAsync"/> takes them in),
    /// each lot giving what the user's amount still wants after the lots before it (a running sum). The lots are read through
    /// points_lots_user (no <c>remaining > 0</c> in the join, which could take the partial index of everyone's live lots; an empty
    /// lot adds nothing to the running sum and is not updated), each user's lots probed apart (a LATERAL kept from being flattened
    /// by OFFSET 0, in the index's order): as a plain join, its generic plan made while the table was small hash-joined a scan of
    /// every lot. Answers per user what the lots could not cover, which must be 0.
    /// </summary>
    private static async Task WriteConsumedAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<PointsConsumed> changes, CancellationToken ct)
    {
        await using var batch = new Npgsql.NpgsqlBatch((Npgsql.NpgsqlConnection)connection, (Npgsql.NpgsqlTransaction)tx);
        var afterwards = new List<Action>();
        AddConsumedTo(batch, changes, afterwards);
        await batch.ExecuteNonQueryAsync(ct);
        foreach (var check in afterwards) check();
    }

    /// <summary>
    /// <see cref="WriteConsumedAsync"/>'s statement appended to a batch someone else executes (the ledger batch's write round trip), with
    /// the check that every user's lots covered what the ledger took: the statement returns only the users they did not cover, so it must
    /// have returned no row.
    /// </summary>
    public static void AddConsumedTo(Npgsql.NpgsqlBatch batch, IReadOnlyList<PointsConsumed> changes, List<Action> afterwards)
    {
        var cmd = new Npgsql.NpgsqlBatchCommand($"""
            WITH ins AS (
                INSERT INTO points_items (id, user_id, kind, amount, withheld, shortfall, trade_no, lot_id, at_us)
                SELECT id, u, {ConsumedKind}, n, 0, 0, NULL, NULL, a FROM unnest(@ids::uuid[], @users::uuid[], @amounts::bigint[], @ats::bigint[]) AS c(id, u, n, a)
                ON CONFLICT (id) DO NOTHING RETURNING user_id, amount, at_us
            ), want AS (
                SELECT user_id, amount, at_us + @margin AS after_us FROM ins WHERE amount > 0
            ), lots AS (
                SELECT l.id, w.user_id, l.remaining, w.amount,
                       sum(l.remaining) OVER (PARTITION BY w.user_id ORDER BY l.expires_at_us, l.earned_at_us, l.id) - l.remaining AS before
                FROM want w CROSS JOIN LATERAL (
                    SELECT id, remaining, expires_at_us, earned_at_us FROM points_lots
                    WHERE user_id = w.user_id AND expires_at_us > w.after_us ORDER BY expires_at_us, earned_at_us, id OFFSET 0) AS l
            ), taken AS (
                UPDATE points_lots l SET remaining = l.remaining - t.take
                FROM (SELECT id, LEAST(remaining, amount - before) AS take FROM lots WHERE remaining > 0 AND before < amount) AS t
                WHERE l.id = t.id RETURNING l.user_id, t.take
            )
            SELECT w.user_id FROM want w
            WHERE w.amount <> COALESCE((SELECT CAST(sum(take) AS bigint) FROM taken WHERE taken.user_id = w.user_id), 0)
            """);
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter<Guid[]>("ids", [.. changes.Select(c => c.ItemId)]));
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter<Guid[]>("users", [.. changes.Select(c => c.UserId)]));
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter<long[]>("amounts", [.. changes.Select(c => c.Amount)]));
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter<long[]>("ats", [.. changes.Select(c => c.AtUs)]));
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter<long>("margin", RedemptionExpiryMarginUs));
        batch.BatchCommands.Add(cmd);
        afterwards.Add(() => Ledger.Invariant.That(cmd.Rows == 0, "the points lots of a redeeming user do not cover what the ledger took from the points account"));
    }

    /// <summary>
    /// Adds to the user's shortfall (a clawback's uncovered part) or pays it off (a negative delta: what an earning withheld, never
    /// more than the shortfall). A payment never creates the row, so the CHECK of an inserted row never sees a negative value.
    /// </summary>
    private static Task AddShortfallAsync(DbConnection connection, DbTransaction tx, Guid userId, long delta, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(delta < 0
            ? "UPDATE points_users SET shortfall = shortfall + @delta WHERE user_id = @userId"
            : """
              INSERT INTO points_users (user_id, shortfall) VALUES (@userId, @delta)
              ON CONFLICT (user_id) DO UPDATE SET shortfall = points_users.shortfall + excluded.shortfall
              """, new { userId, delta }, tx, cancellationToken: ct));

    /// <summary>
    /// Takes <paramref name="amount"/> from the user's lots, soonest expiry first (only lots still good at
    /// <paramref name="liveAtUs"/> when given). The ledger has already taken it from the points account (floored), and
    /// Σ remaining = that balance, so the lots cover it; a redemption must not use more than the lots still good.
    /// </summary>
    private static async Task ConsumeAsync(DbConnection connection, DbTransaction tx, Guid userId, long amount, long? liveAtUs, CancellationToken ct)
    {
        if (amount <= 0) return;
        var lots = (await connection.QueryAsync<PointsLotRow>(new CommandDefinition("""
            SELECT id, user_id, remaining, expires_at_us FROM points_lots
            WHERE user_id = @userId AND remaining > 0 AND expires_at_us > @after ORDER BY expires_at_us, earned_at_us, id
            """, new { userId, after = liveAtUs ?? long.MinValue }, tx, cancellationToken: ct))).AsList();
        var left = amount;
        foreach (var lot in lots)
        {
            if (left == 0) break;
            var take = Math.Min(left, lot.remaining);
            await connection.ExecuteAsync(new CommandDefinition("UPDATE points_lots SET remaining = remaining - @take WHERE id = @id",
                new { take, id = lot.id }, tx, cancellationToken: ct));
            left -= take;
        }
        Ledger.Invariant.That(left == 0, $"the points lots of {userId} do not cover {amount} the ledger took from the points account");
    }

    /// <summary>Writes a change that moves no point (an earning all withheld, a clawback the balance could not cover at all) in its own transaction.</summary>
    public async Task WriteAloneAsync(PointsChange change, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        await WriteAsync(connection, tx, change, ct);
        await tx.CommitAsync(ct);
    }

    // ---- reads ---------------------------------------------------------------------------------------------------

    /// <summary>What the trade earned and refunds took back so far, or null when it earned nothing (or was paid before points).</summary>
    public async Task<PointsTradeRow?> FindTradeAsync(string tradeNo, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<PointsTradeRow>(new CommandDefinition(
            "SELECT trade_no, user_id, total_minor, earned, clawed_back, refunded_minor FROM points_trades WHERE trade_no = @tradeNo",
            new { tradeNo }, cancellationToken: ct));
    }

    /// <summary>
    /// Points the trades earned less what their refunds took back: what Memberships shows as a member's points at a merchant
    /// (it knows which trades were paid there; points themselves are not kept per merchant).
    /// </summary>
    public async Task<long> NetEarnedForTradesAsync(IReadOnlyList<string> tradeNos, CancellationToken ct)
    {
        if (tradeNos.Count == 0) return 0;
        var total = 0L;
        // PostgreSQL takes the list as one array parameter; SQLite gets Dapper's expansion into one parameter each.
        var condition = db.Engine == DatabaseEngine.Postgres ? "trade_no = ANY(@slice)" : "trade_no IN @slice";
        await using var connection = await db.OpenAsync(ct);
        // In slices, so a long history stays within every engine's parameter limit.
        foreach (var slice in tradeNos.Chunk(500))
            total += await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                $"SELECT sum(earned - clawed_back) FROM points_trades WHERE {condition}", new { slice }, cancellationToken: ct)) ?? 0;
        return total;
    }

    public async Task<bool> ItemExistsAsync(Guid itemId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM points_items WHERE id = @itemId",
            new { itemId }, cancellationToken: ct)) > 0;
    }

    /// <summary>Which of <paramref name="itemIds"/> are history items already (one statement for an earning subscriber's batch).</summary>
    public async Task<HashSet<Guid>> ExistingItemsAsync(IReadOnlyCollection<Guid> itemIds, CancellationToken ct)
    {
        if (itemIds.Count == 0) return [];
        var (condition, ids) = db.IdIn("id", itemIds);
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<Guid>(new CommandDefinition($"SELECT id FROM points_items WHERE {condition}", new { ids },
            cancellationToken: ct))).ToHashSet();
    }

    /// <summary>The shortfalls of those of <paramref name="userIds"/> who have one (one statement for a batch).</summary>
    public async Task<Dictionary<Guid, long>> ShortfallsAsync(IReadOnlyCollection<Guid> userIds, CancellationToken ct)
    {
        if (userIds.Count == 0) return [];
        var (condition, ids) = db.IdIn("user_id", userIds);
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<(Guid UserId, long Shortfall)>(new CommandDefinition(
            $"SELECT user_id, shortfall FROM points_users WHERE {condition} AND shortfall > 0", new { ids }, cancellationToken: ct)))
            .ToDictionary(r => r.UserId, r => r.Shortfall);
    }

    public async Task<long> ShortfallAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition("SELECT shortfall FROM points_users WHERE user_id = @userId",
            new { userId }, cancellationToken: ct)) ?? 0;
    }

    /// <summary>Lots whose expiry has come and that still hold points, soonest first.</summary>
    public async Task<IReadOnlyList<PointsLotRow>> DueLotsAsync(long nowUs, int limit, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<PointsLotRow>(new CommandDefinition("""
            SELECT id, user_id, remaining, expires_at_us FROM points_lots
            WHERE remaining > 0 AND expires_at_us <= @nowUs ORDER BY expires_at_us, id LIMIT @limit
            """, new { nowUs, limit }, cancellationToken: ct))).AsList();
    }

    /// <summary>What is left of the user's lots by expiry date, soonest first.</summary>
    public async Task<IReadOnlyList<PointsExpiringRow>> ExpiringAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<PointsExpiringRow>(new CommandDefinition($"""
            SELECT CAST(sum(remaining) AS bigint) AS amount, expires_at_us FROM points_lots WHERE user_id = @userId AND remaining > 0
            GROUP BY expires_at_us ORDER BY expires_at_us LIMIT {ExpiringMax}
            """, new { userId }, cancellationToken: ct))).AsList();
    }

    /// <summary>What remains of the user's lots still good at <paramref name="nowUs"/> plus the margin (what a payment may redeem).</summary>
    public async Task<long> UsableAsync(Guid userId, long nowUs, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            // No `remaining > 0` (never negative, so the same sum): it let the generic plan pick the partial index of every live lot
            // (see PointsUsableGuardChecker).
            "SELECT CAST(sum(remaining) AS bigint) FROM points_lots WHERE user_id = @userId AND expires_at_us > @nowUs",
            new { userId, nowUs = nowUs + RedemptionExpiryMarginUs }, cancellationToken: ct)) ?? 0;
    }

    /// <summary>Every history item of the user, oldest first (the personal-data export).</summary>
    public async Task<IReadOnlyList<PointsItemRow>> AllItemsAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<PointsItemRow>(new CommandDefinition($"""
            SELECT id, kind, amount, withheld, shortfall, trade_no, lot_id, at_us FROM points_items
            WHERE user_id = @userId AND kind < {ConsumedKind} ORDER BY at_us, id
            """, new { userId }, cancellationToken: ct))).AsList();
    }

    /// <summary>The user's history items, newest first (redemption consumptions are the payment's history, not shown here).</summary>
    public async Task<IReadOnlyList<PointsItemRow>> ItemsAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<PointsItemRow>(new CommandDefinition($"""
            SELECT id, kind, amount, withheld, shortfall, trade_no, lot_id, at_us FROM points_items
            WHERE user_id = @userId AND kind < {ConsumedKind} ORDER BY at_us DESC, id LIMIT {ItemsMax}
            """, new { userId }, cancellationToken: ct))).AsList();
    }
}

internal sealed class PointsTradeRow
{
    public string trade_no { get; init; } = "";
    public Guid user_id { get; init; }
    public long total_minor { get; init; }
    public long earned { get; init; }
    public long clawed_back { get; init; }
    public long refunded_minor { get; init; }
}

internal sealed class PointsLotRow
{
    public Guid id { get; init; }
    public Guid user_id { get; init; }
    public long remaining { get; init; }
    public long expires_at_us { get; init; }
}

internal sealed class PointsItemRow
{
    public Guid id { get; init; }
    public short kind { get; init; }
    public long amount { get; init; }
    public long withheld { get; init; }
    public long shortfall { get; init; }
    public string? trade_no { get; init; }
    public Guid? lot_id { get; init; }
    public long at_us { get; init; }
}

internal sealed class PointsExpiringRow
{
    public long amount { get; init; }
    public long expires_at_us { get; init; }
}
