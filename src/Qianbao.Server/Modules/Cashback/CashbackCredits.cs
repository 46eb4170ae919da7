using System.Data.Common;
using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Cashback;

/// <summary>What became of a payment's cashback. Stored as a number; never renumber.</summary>
internal enum CashbackStatus : short
{
    /// <summary>Waiting to settle: a live pending transfer budget → wallet (the buyer's <c>pending_in</c>).</summary>
    Pending = 0,

    /// <summary>In the buyer's wallet (posted); later refunds claw it back from themselves.</summary>
    Posted = 1,

    /// <summary>Refunds took all of it back before it posted (or the trade was refunded in full before it was earned).</summary>
    Voided = 2,

    /// <summary>The campaign's budget could not pay it: no cashback, recorded so it is decided once.</summary>
    Refused = 3,
}

internal static class CashbackNames
{
    public static string Of(CashbackStatus status) => status switch
    {
        CashbackStatus.Pending => "pending",
        CashbackStatus.Posted => "posted",
        CashbackStatus.Voided => "voided",
        _ => "refused",
    };
}

/// <summary>One row of <c>cashback_credits</c>: the cashback of one paid trade (the money is in the ledger).</summary>
internal sealed class CashbackCreditRow
{
    public const string Columns = """
        id, trade_no, user_id, campaign_id, currency, budget_account_id, total_amount, pay_amount, earned, voided, clawed_back,
        refunded_amount, status, pending_transfer_id, version, settle_at_us, created_at_us, posted_at_us
        """;

    public Guid id { get; init; }
    public string trade_no { get; init; } = "";
    public Guid user_id { get; init; }
    public Guid campaign_id { get; init; }
    public string currency { get; init; } = "";
    public Guid budget_account_id { get; init; }
    public long total_amount { get; init; }
    public long pay_amount { get; init; }
    public long earned { get; init; }
    public long voided { get; init; }
    public long clawed_back { get; init; }
    public long refunded_amount { get; init; }
    public short status { get; init; }
    public Guid? pending_transfer_id { get; init; }
    public int version { get; init; }
    public long settle_at_us { get; init; }
    public long created_at_us { get; init; }
    public long? posted_at_us { get; init; }

    public CashbackStatus Status => (CashbackStatus)status;
    public Currency Currency => Currency.Parse(currency);
    public AccountId BudgetAccount => new(budget_account_id);

    /// <summary>What the buyer has, or will have when it settles: earned less what refunds took back.</summary>
    public long Amount => earned - voided - clawed_back;

    public object Body() => new
    {
        id, trade_no, campaign_id, status = CashbackNames.Of(Status), amount = Status == CashbackStatus.Refused ? 0 : Amount, currency, earned, voided,
        clawed_back, settle_at = TimeProviderExtensions.FromUnixMicroseconds(settle_at_us),
        posted_at = posted_at_us is { } p ? TimeProviderExtensions.FromUnixMicroseconds(p) : (DateTimeOffset?)null,
        created_at = TimeProviderExtensions.FromUnixMicroseconds(created_at_us),
    };
}

/// <summary>A change of a cashback credit, committed with the ledger postings that cause it.</summary>
internal abstract record CashbackChange(string TradeNo) : IEffect;

/// <summary>The credit exists (with its pending or posted transfer, or alone when voided or refused).</summary>
internal sealed record CashbackCreated(CashbackCreditRow Row) : CashbackChange(Row.trade_no);

/// <summary>
/// A refund took <see cref="Voided"/> (before posting) or <see cref="ClawedBack"/> (after) back: written with the refund, from the
/// row's <see cref="FromVersion"/>.
/// </summary>
internal sealed record CashbackReduced(string TradeNo, int FromVersion, long Voided, long ClawedBack, long RefundedAfter, CashbackStatus Status,
    Guid? PendingTransferId) : CashbackChange(TradeNo);

/// <summary>The pending credit posted (the settle sweeper).</summary>
internal sealed record CashbackSettled(string TradeNo, int FromVersion, long AtUs) : CashbackChange(TradeNo);

/// <summary>Writes cashback changes in the ledger batch transaction. Idempotent (inserts by id, updates from a version).</summary>
internal sealed class CashbackWriter : IEffectWriter
{
    public Type EffectType => typeof(CashbackChange);

    public ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IEffect> effects, CancellationToken ct)
    {
        var statements = new List<SqlStatement>(effects.Count);
        foreach (var effect in effects)
        {
            statements.Add(effect switch
            {
                CashbackCreated { Row: var r } => Insert(r),
                CashbackReduced c => new SqlStatement("""
                    UPDATE cashback_credits SET voided = voided + @voided, clawed_back = clawed_back + @clawed, refunded_amount = @refunded,
                        status = @status, pending_transfer_id = @pending, version = version + 1
                    WHERE trade_no = @trade_no AND version = @from
                    """, new Dictionary<string, object?>
                {
                    ["trade_no"] = c.TradeNo, ["from"] = c.FromVersion, ["voided"] = c.Voided, ["clawed"] = c.ClawedBack, ["refunded"] = c.RefundedAfter,
                    ["status"] = (short)c.Status, ["pending"] = c.PendingTransferId,
                }),
                CashbackSettled s => new SqlStatement("""
                    UPDATE cashback_credits SET status = 1, posted_at_us = @now, version = version + 1 WHERE trade_no = @trade_no AND version = @from AND status = 0
                    """, new Dictionary<string, object?> { ["trade_no"] = s.TradeNo, ["from"] = s.FromVersion, ["now"] = s.AtUs }),
                _ => throw new ArgumentOutOfRangeException(nameof(effects), effect.GetType().Name, "not a cashback change"),
            });
        }
        return SqlBatch.ExecuteAsync(connection, transaction, statements, ct);
    }

    public static SqlStatement Insert(CashbackCreditRow r) => new($"""
        INSERT INTO cashback_credits ({CashbackCreditRow.Columns})
        VALUES (@id, @trade_no, @user_id, @campaign_id, @currency, @budget_account_id, @total_amount, @pay_amount, @earned, @voided, 0,
                @refunded_amount, @status, @pending_transfer_id, 0, @settle_at_us, @created_at_us, @posted_at_us)
        ON CONFLICT (id) DO NOTHING
        """, new Dictionary<string, object?>
    {
        ["id"] = r.id, ["trade_no"] = r.trade_no, ["user_id"] = r.user_id, ["campaign_id"] = r.campaign_id, ["currency"] = r.currency,
        ["budget_account_id"] = r.budget_account_id, ["total_amount"] = r.total_amount, ["pay_amount"] = r.pay_amount, ["earned"] = r.earned,
        ["voided"] = r.voided, ["refunded_amount"] = r.refunded_amount, ["status"] = r.status, ["pending_transfer_id"] = r.pending_transfer_id,
        ["settle_at_us"] = r.settle_at_us, ["created_at_us"] = r.created_at_us, ["posted_at_us"] = r.posted_at_us,
    });
}

/// <summary>
/// The trade's cashback is as it was read: at <see cref="Version"/>, or absent when that is null. The refund path, the settle
/// sweeper and the earning subscriber each decide on what they read, so whichever commits second sees its guard fail and reads again.
/// </summary>
internal sealed record CashbackGuard(string TradeNo, int? Version) : IGuard
{
    public string Key => "cashback:" + TradeNo;
}

/// <summary>Evaluates <see cref="CashbackGuard"/>s against <c>cashback_credits</c> (locking the row on PostgreSQL).</summary>
internal sealed class CashbackGuardChecker : GuardChecker<CashbackGuard>
{
    protected override ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CashbackGuard> guards, CancellationToken ct)
    {
        var lockRows = SqlBatch.LockRows(connection);
        var queries = new SqlStatement[guards.Count];
        for (var i = 0; i < queries.Length; i++)
            queries[i] = guards[i].Version is { } version
                ? new($"SELECT 1 FROM cashback_credits WHERE trade_no = @trade_no AND version = @version{lockRows}",
                    new Dictionary<string, object?> { ["trade_no"] = guards[i].TradeNo, ["version"] = version })
                : new("SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM cashback_credits WHERE trade_no = @trade_no)",
                    new Dictionary<string, object?> { ["trade_no"] = guards[i].TradeNo });
        return SqlBatch.AnyRowsAsync(connection, transaction, queries, ct);
    }
}

/// <summary>Reads and writes-alone <c>cashback_credits</c> for this module.</summary>
internal sealed class CashbackStore(Db db)
{
    /// <summary>Most credits one list answers (newest first).</summary>
    public const int ListMax = 200;

    public async Task<CashbackCreditRow?> FindAsync(string tradeNo, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<CashbackCreditRow>(new CommandDefinition(
            $"SELECT {CashbackCreditRow.Columns} FROM cashback_credits WHERE trade_no = @tradeNo", new { tradeNo }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<CashbackCreditRow>> ListAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<CashbackCreditRow>(new CommandDefinition(
            $"SELECT {CashbackCreditRow.Columns} FROM cashback_credits WHERE user_id = @userId ORDER BY created_at_us DESC, id LIMIT {ListMax}",
            new { userId }, cancellationToken: ct))).AsList();
    }

    /// <summary>Pending credits whose settle time has come, oldest first.</summary>
    public async Task<IReadOnlyList<CashbackCreditRow>> DueAsync(long nowUs, int limit, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<CashbackCreditRow>(new CommandDefinition(
            $"SELECT {CashbackCreditRow.Columns} FROM cashback_credits WHERE status = 0 AND settle_at_us <= @nowUs ORDER BY settle_at_us, id LIMIT @limit",
            new { nowUs, limit }, cancellationToken: ct))).AsList();
    }

    /// <summary>Records a credit that moves no money (refused by the budget, or voided before it was earned). Idempotent.</summary>
    public async Task WriteAloneAsync(CashbackCreditRow row, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await SqlBatch.ExecuteAsync(connection, tx, [CashbackWriter.Insert(row)], ct);
        await tx.CommitAsync(ct);
    }
}
