using System.Data.Common;
using System.Text.Json;
using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>What a campaign gives. Stored as a number; never renumber.</summary>
internal enum CampaignKind : short
{
    Coupon = 0,
    FirstPayment = 1,
    Cashback = 2,
    Points = 3,
}

/// <summary>Where a campaign's budget comes from, and where its remainder goes back to. Stored; never renumber.</summary>
internal enum FundingSource : short
{
    /// <summary>The platform's marketing expense account (no limit; its balance is the platform's marketing spend).</summary>
    Platform = 0,

    /// <summary>The funding merchant's settlement account (it must hold the budget).</summary>
    Merchant = 1,
}

/// <summary>
/// The stored life of a campaign. Open covers scheduled and active (which one is a matter of the clock, see
/// <see cref="CampaignStatus"/>); Stopped and Ended are final and each happened with the return of the remainder.
/// Stored; never renumber.
/// </summary>
internal enum CampaignState : short
{
    Open = 0,
    Stopped = 1,
    Ended = 2,
}

/// <summary>What callers see: the stored state read against the clock.</summary>
internal enum CampaignStatus : byte
{
    /// <summary>Open and not started yet.</summary>
    Scheduled,

    /// <summary>Open and between its start and its end.</summary>
    Active,

    /// <summary>An operator stopped it; the remainder went back to its funder.</summary>
    Stopped,

    /// <summary>
    /// Its end passed. The sweeper returns the remainder within seconds of the end; until it has, <c>budget.returned</c>
    /// is still 0 and the money is in the budget account, but nothing can claim or spend against it any more.
    /// </summary>
    Ended,
}

internal static class CampaignNames
{
    public static string Of(CampaignKind kind) => kind switch
    {
        CampaignKind.Coupon => "coupon",
        CampaignKind.FirstPayment => "first_payment",
        CampaignKind.Cashback => "cashback",
        _ => "points",
    };

    public static bool TryParseKind(string? text, out CampaignKind kind)
    {
        kind = CampaignKind.Coupon;
        switch (text)
        {
            case "coupon": return true;
            case "first_payment": kind = CampaignKind.FirstPayment; return true;
            case "cashback": kind = CampaignKind.Cashback; return true;
            case "points": kind = CampaignKind.Points; return true;
            default: return false;
        }
    }

    public static string Of(CampaignStatus status) => status switch
    {
        CampaignStatus.Scheduled => "scheduled",
        CampaignStatus.Active => "active",
        CampaignStatus.Stopped => "stopped",
        _ => "ended",
    };

    public static string Of(FundingSource source) => source == FundingSource.Platform ? "platform" : "merchant";
}

/// <summary>One row of <c>campaigns</c>: what the operator asked for and the coupon counters (the money is in the ledger).</summary>
internal sealed class CampaignRow
{
    public const string Columns = """
        id, name, kind, funding_source, funder_merchant_id, currency, budget_amount, budget_account_id, returned_amount, starts_at_us,
        ends_at_us, merchant_ids, terms, state, coupon_stock, coupon_per_user_max, coupons_claimed, coupons_used, coupons_returned,
        created_by, created_at_us, closed_at_us
        """;

    public Guid id { get; init; }
    public string name { get; init; } = "";
    public short kind { get; init; }
    public short funding_source { get; init; }
    public Guid? funder_merchant_id { get; init; }
    public string currency { get; init; } = "";
    public long budget_amount { get; init; }
    public Guid budget_account_id { get; init; }
    public long returned_amount { get; init; }
    public long starts_at_us { get; init; }
    public long ends_at_us { get; init; }
    public string merchant_ids { get; init; } = "";
    public string terms { get; init; } = "{}";
    public short state { get; init; }
    public int coupon_stock { get; init; }
    public int coupon_per_user_max { get; init; }
    public int coupons_claimed { get; init; }
    public int coupons_used { get; init; }
    public int coupons_returned { get; init; }
    public Guid? created_by { get; init; }
    public long created_at_us { get; init; }
    public long? closed_at_us { get; init; }

    public CampaignKind Kind => (CampaignKind)kind;
    public FundingSource Funding => (FundingSource)funding_source;
    public CampaignState State => (CampaignState)state;
    public Currency Currency => Currency.Parse(currency);
    public AccountId BudgetAccount => new(budget_account_id);
    public CampaignTerms Terms => JsonSerializer.Deserialize<CampaignTerms>(terms, JsonDefaults.Options)!;
    public IReadOnlyList<Guid> MerchantIds => MerchantScope.Parse(merchant_ids);

    public CampaignStatus StatusAt(long nowUs) => State switch
    {
        CampaignState.Stopped => CampaignStatus.Stopped,
        CampaignState.Ended => CampaignStatus.Ended,
        _ when nowUs < starts_at_us => CampaignStatus.Scheduled,
        _ when nowUs < ends_at_us => CampaignStatus.Active,
        _ => CampaignStatus.Ended,
    };

    /// <summary>
    /// Whether the campaign was active at <paramref name="atUs"/>: started, not ended, and not stopped or ended before it (the
    /// condition of <see cref="Campaigns.ActiveAtAsync(CampaignKind, long, CancellationToken)"/>, in memory).
    /// </summary>
    public bool WasActiveAt(long atUs) => starts_at_us <= atUs && ends_at_us > atUs && (state == 0 || closed_at_us > atUs);

    /// <summary>True when <paramref name="merchantId"/> is in the campaign's scope (an empty scope is every merchant).</summary>
    public bool AppliesAt(Guid merchantId) => merchant_ids.Length == 0 || MerchantIds.Contains(merchantId);

    /// <summary>
    /// The campaign as operators read it. <c>budget.remaining</c> is what has not been spent: what the budget account
    /// holds (available: posted credits less posted and pending debits) plus what was returned to the funder, so
    /// <c>amount = spent + remaining</c> holds before and after the return.
    /// </summary>
    public object Body(long nowUs, long budgetAvailable, long expiredCoupons)
    {
        var remaining = budgetAvailable + returned_amount;
        return new
        {
            id, name, kind = CampaignNames.Of(Kind), status = CampaignNames.Of(StatusAt(nowUs)),
            funding = new { source = CampaignNames.Of(Funding), merchant_id = funder_merchant_id },
            budget = new { amount = budget_amount, currency, spent = budget_amount - remaining, remaining, returned = returned_amount },
            starts_at = TimeProviderExtensions.FromUnixMicroseconds(starts_at_us),
            ends_at = TimeProviderExtensions.FromUnixMicroseconds(ends_at_us),
            merchant_ids = MerchantIds,
            coupons = Kind == CampaignKind.Coupon
                ? new { stock = coupon_stock, claimed = coupons_claimed, used = coupons_used, expired = expiredCoupons, returned = coupons_returned }
                : null,
            terms = TermsBody(),
            created_at = TimeProviderExtensions.FromUnixMicroseconds(created_at_us),
            closed_at = closed_at_us is { } c ? TimeProviderExtensions.FromUnixMicroseconds(c) : (DateTimeOffset?)null,
        };
    }

    /// <summary>The kind's fields, nested under the kind's name as they were given.</summary>
    private Dictionary<string, object?> TermsBody()
    {
        var t = Terms;
        return new Dictionary<string, object?>
        {
            [CampaignNames.Of(Kind)] = (object?)t.Coupon?.Body() ?? t.FirstPayment ?? t.Cashback ?? (object?)t.Points,
        };
    }
}

/// <summary>The merchant scope column: comma-separated ids, empty for every merchant.</summary>
internal static class MerchantScope
{
    public static string Format(IReadOnlyList<Guid> ids) => string.Join(',', ids.Select(i => i.ToString("D")));

    public static IReadOnlyList<Guid> Parse(string text) =>
        text.Length == 0 ? [] : [.. text.Split(',').Select(Guid.Parse)];
}

/// <summary>A change of a campaign's row, committed with the ledger postings that cause it.</summary>
internal abstract record CampaignChange(Guid CampaignId) : IEffect;

/// <summary>The campaign exists: written with the transfer of its budget into its budget account.</summary>
internal sealed record CampaignCreated(CampaignRow Row) : CampaignChange(Row.id);

/// <summary>The campaign stopped or ended: written with the return of <see cref="Returned"/> to its funder.</summary>
internal sealed record CampaignClosed(Guid Id, CampaignState State, long Returned, long AtUs) : CampaignChange(Id);

/// <summary>
/// A refund's budget share reached a campaign already stopped or ended: passed on to its funder in the refund's chain, so it
/// counts as returned (the campaign's remainder went back once at its close; this is what came back after).
/// </summary>
internal sealed record CampaignReturnedLate(Guid Id, long Amount) : CampaignChange(Id);

/// <summary>Writes campaign changes in the ledger batch transaction. Idempotent, as every effect writer must be.</summary>
internal sealed class CampaignWriter : IEffectWriter
{
    public Type EffectType => typeof(CampaignChange);

    public ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IEffect> effects, CancellationToken ct)
    {
        var statements = new List<SqlStatement>(effects.Count);
        foreach (var effect in effects)
        {
            statements.Add(effect switch
            {
                CampaignCreated { Row: var r } => new SqlStatement($"""
                    INSERT INTO campaigns ({CampaignRow.Columns})
                    VALUES (@id, @name, @kind, @funding_source, @funder_merchant_id, @currency, @budget_amount, @budget_account_id, 0, @starts_at_us,
                            @ends_at_us, @merchant_ids, @terms, 0, @coupon_stock, @coupon_per_user_max, 0, 0, 0, @created_by, @created_at_us, NULL)
                    ON CONFLICT (id) DO NOTHING
                    """, new Dictionary<string, object?>
                {
                    ["id"] = r.id, ["name"] = r.name, ["kind"] = r.kind, ["funding_source"] = r.funding_source, ["funder_merchant_id"] = r.funder_merchant_id,
                    ["currency"] = r.currency, ["budget_amount"] = r.budget_amount, ["budget_account_id"] = r.budget_account_id,
                    ["starts_at_us"] = r.starts_at_us, ["ends_at_us"] = r.ends_at_us, ["merchant_ids"] = r.merchant_ids, ["terms"] = r.terms,
                    ["coupon_stock"] = r.coupon_stock, ["coupon_per_user_max"] = r.coupon_per_user_max, ["created_by"] = r.created_by,
                    ["created_at_us"] = r.created_at_us,
                }),
                CampaignClosed c => new SqlStatement("""
                    UPDATE campaigns SET state = @state, returned_amount = @returned, closed_at_us = @now WHERE id = @id AND state = 0
                    """, new Dictionary<string, object?> { ["id"] = c.Id, ["state"] = (int)c.State, ["returned"] = c.Returned, ["now"] = c.AtUs }),
                CampaignReturnedLate l => new SqlStatement("UPDATE campaigns SET returned_amount = returned_amount + @amount WHERE id = @id AND state <> 0",
                    new Dictionary<string, object?> { ["id"] = l.Id, ["amount"] = l.Amount }),
                _ => throw new ArgumentOutOfRangeException(nameof(effects), effect.GetType().Name, "not a campaign change"),
            });
        }
        return SqlBatch.ExecuteAsync(connection, transaction, statements, ct);
    }
}

/// <summary>The campaign is still open: the return of its remainder is decided on that, and happens once.</summary>
internal sealed record CampaignOpenGuard(Guid CampaignId) : IGuard
{
    public string Key => "campaign:" + CampaignId.ToString("N");
}

/// <summary>Evaluates <see cref="CampaignOpenGuard"/>s against <c>campaigns</c> (locking the row on PostgreSQL).</summary>
internal sealed class CampaignOpenGuardChecker : GuardChecker<CampaignOpenGuard>
{
    protected override ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CampaignOpenGuard> guards,
        CancellationToken ct)
    {
        var lockRows = SqlBatch.LockRows(connection);
        var queries = new SqlStatement[guards.Count];
        for (var i = 0; i < queries.Length; i++)
            queries[i] = new($"SELECT 1 FROM campaigns WHERE id = @id AND state = 0{lockRows}",
                new Dictionary<string, object?> { ["id"] = guards[i].CampaignId });
        return SqlBatch.AnyRowsAsync(connection, transaction, queries, ct);
    }
}

/// <summary>Reads <c>campaigns</c> for this module, and answers a campaign as operators see it (with its ledger balance).</summary>
internal sealed class Campaigns(Db db, LedgerAccounts accounts, TimeProvider clock)
{
    /// <summary>Most campaigns one list answers (newest first).</summary>
    public const int ListMax = 200;

    public async Task<CampaignRow?> FindAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<CampaignRow>(new CommandDefinition(
            $"SELECT {CampaignRow.Columns} FROM campaigns WHERE id = @id", new { id }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<CampaignRow>> ListAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<CampaignRow>(new CommandDefinition(
            $"SELECT {CampaignRow.Columns} FROM campaigns ORDER BY created_at_us DESC, id LIMIT {ListMax}", cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Campaigns of <paramref name="kind"/> in <paramref name="currency"/> that were active at <paramref name="atUs"/> (started, not
    /// ended, and not stopped before then), for rewards decided after the fact (cashback decides on a paid trade's time).
    /// </summary>
    public async Task<IReadOnlyList<CampaignRow>> ActiveAtAsync(CampaignKind kind, string currency, long atUs, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<CampaignRow>(new CommandDefinition($"""
            SELECT {CampaignRow.Columns} FROM campaigns
            WHERE kind = @kind AND currency = @currency AND starts_at_us <= @at AND ends_at_us > @at AND (state = 0 OR closed_at_us > @at)
            ORDER BY ends_at_us, id LIMIT {ListMax}
            """, new { kind = (short)kind, currency, at = atUs }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Campaigns of <paramref name="kind"/> that were active at <paramref name="atUs"/>, in any currency: started, not ended, and
    /// not stopped or ended before it (a payment's event handled after a campaign closed still counts the campaign it was paid under).
    /// </summary>
    public async Task<IReadOnlyList<CampaignRow>> ActiveAtAsync(CampaignKind kind, long atUs, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<CampaignRow>(new CommandDefinition($"""
            SELECT {CampaignRow.Columns} FROM campaigns
            WHERE kind = @kind AND starts_at_us <= @at AND ends_at_us > @at AND (state = 0 OR closed_at_us > @at)
            ORDER BY created_at_us, id LIMIT {ListMax}
            """, new { kind = (short)kind, at = atUs }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Campaigns of <paramref name="kind"/>, in any currency, active at some time in [<paramref name="fromUs"/>,
    /// <paramref name="toUs"/>]: one read for a batch of payments, each then checked with <see cref="CampaignRow.WasActiveAt"/>.
    /// Null when there may be more than <see cref="ListMax"/> (the caller asks per payment then, as before).
    /// </summary>
    public async Task<IReadOnlyList<CampaignRow>?> ActiveDuringAsync(CampaignKind kind, long fromUs, long toUs, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = (await connection.QueryAsync<CampaignRow>(new CommandDefinition($"""
            SELECT {CampaignRow.Columns} FROM campaigns
            WHERE kind = @kind AND starts_at_us <= @to AND ends_at_us > @from AND (state = 0 OR closed_at_us > @from)
            ORDER BY created_at_us, id LIMIT {ListMax}
            """, new { kind = (short)kind, from = fromUs, to = toUs }, cancellationToken: ct))).AsList();
        return rows.Count < ListMax ? rows : null;
    }

    /// <summary>Whether any campaign of <paramref name="kind"/> was ever created (a refund skips cashback work when none was).</summary>
    public async Task<bool> AnyOfKindAsync(CampaignKind kind, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
            "SELECT 1 FROM campaigns WHERE kind = @kind LIMIT 1", new { kind = (short)kind }, cancellationToken: ct)) is not null;
    }

    /// <summary>Open campaigns whose end has passed, oldest end first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<Guid>> DueToEndAsync(int limit, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT id FROM campaigns WHERE state = 0 AND ends_at_us <= @now ORDER BY ends_at_us, id LIMIT @limit",
            new { now = clock.GetUnixMicroseconds(), limit }, cancellationToken: ct))).AsList();
    }

    /// <summary>What the budget account can still pay (posted credits less posted and pending debits).</summary>
    public async Task<long> BudgetAvailableAsync(CampaignRow row, CancellationToken ct)
    {
        var found = await accounts.GetAsync([row.BudgetAccount], ct);
        return found.TryGetValue(row.BudgetAccount, out var account) ? account.CreditBalanceAvailable : 0;
    }

    /// <summary>The budget accounts' available balances of <paramref name="rows"/>, in one read.</summary>
    public async Task<IReadOnlyDictionary<Guid, long>> BudgetsAvailableAsync(IReadOnlyList<CampaignRow> rows, CancellationToken ct)
    {
        var found = await accounts.GetAsync([.. rows.Select(r => r.BudgetAccount).Distinct()], ct);
        return rows.ToDictionary(r => r.id, r => found.TryGetValue(r.BudgetAccount, out var a) ? a.CreditBalanceAvailable : 0);
    }

    /// <summary>Coupons of each campaign that expired unused, as of now.</summary>
    public async Task<IReadOnlyDictionary<Guid, long>> ExpiredCouponsAsync(IReadOnlyList<Guid> campaignIds, CancellationToken ct)
    {
        if (campaignIds.Count == 0) return new Dictionary<Guid, long>();
        await using var connection = await db.OpenAsync(ct);
        var (inSql, ids) = db.IdIn("campaign_id", campaignIds);
        var rows = await connection.QueryAsync<ExpiredCount>(new CommandDefinition(
            $"SELECT campaign_id, count(*) AS n FROM coupons WHERE {inSql} AND status = {(int)CouponStatus.Available} AND expires_at_us <= @now GROUP BY campaign_id",
            new { ids, now = clock.GetUnixMicroseconds() }, cancellationToken: ct));
        return rows.ToDictionary(r => r.campaign_id, r => r.n);
    }

    /// <summary>The operators' view of <paramref name="rows"/>: balances and expired counts read in one go each.</summary>
    public async Task<IReadOnlyList<object>> BodiesAsync(IReadOnlyList<CampaignRow> rows, CancellationToken ct)
    {
        var budgets = await BudgetsAvailableAsync(rows, ct);
        var expired = await ExpiredCouponsAsync([.. rows.Where(r => r.Kind == CampaignKind.Coupon).Select(r => r.id)], ct);
        var now = clock.GetUnixMicroseconds();
        return [.. rows.Select(r => r.Body(now, budgets[r.id], expired.GetValueOrDefault(r.id)))];
    }

    private sealed class ExpiredCount
    {
        public Guid campaign_id { get; init; }
        public long n { get; init; }
    }

    public async Task<object> BodyAsync(CampaignRow row, CancellationToken ct) => (await BodiesAsync([row], ct))[0];
}
