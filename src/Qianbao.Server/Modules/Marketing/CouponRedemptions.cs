using System.Data.Common;
using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>How a payment asks for a coupon: the best usable one, none, or a given one.</summary>
internal readonly record struct CouponChoice(CouponChoiceKind Kind, Guid CouponId = default)
{
    public static CouponChoice Best => new(CouponChoiceKind.Best);
    public static CouponChoice None => new(CouponChoiceKind.None);

    /// <summary>The body's <c>coupon_id</c>: absent or null → best, <c>"none"</c> → none, a coupon id → that one; false for anything else.</summary>
    public static bool TryParse(string? text, out CouponChoice choice)
    {
        choice = Best;
        if (text is null) return true;
        if (text == "none")
        {
            choice = None;
            return true;
        }
        if (!Guid.TryParse(text, out var id)) return false;
        choice = new(CouponChoiceKind.Given, id);
        return true;
    }
}

internal enum CouponChoiceKind : byte { Best, None, Given }

/// <summary>The coupon a payment will use: what it takes off, the budget that pays it and who funded that budget.</summary>
internal sealed record CouponPlan(Guid CouponId, Guid CampaignId, long DiscountFen, AccountId BudgetAccount, bool ReturnOnRefund, bool MerchantFunded);

/// <summary>One coupon's part in a paid trade, as the gateway and refunds read it.</summary>
internal sealed class RedemptionRow
{
    public string trade_no { get; init; } = "";
    public Guid coupon_id { get; init; }
    public Guid campaign_id { get; init; }
    public Guid user_id { get; init; }
    public long discount_amount { get; init; }
    public Guid budget_account_id { get; init; }
    public short merchant_funded { get; init; }
    public short return_on_refund { get; init; }
    public string campaign_name { get; init; } = "";
    public short coupon_type { get; init; }
    public long coupon_expires_at_us { get; init; }

    public AccountId BudgetAccount => new(budget_account_id);
}

/// <summary>
/// What the payment path asks Marketing: which coupon a payment uses (<see cref="PlanAsync"/>), the guard and the effect that
/// mark it used in the payment's own transaction, what coupons took off a trade, and the coupon's return after a full refund.
/// </summary>
internal sealed class CouponRedemptions(Db db, Coupons coupons, Campaigns campaigns, LedgerAccounts accounts)
{
    /// <summary>
    /// The coupon a payment of <paramref name="totalFen"/> at <paramref name="merchantId"/> uses: the best usable one, the given one
    /// when it is usable (else <c>NotUsable</c>), or none. Usable means <see cref="Coupons.UsableForAsync"/> lists it now: the
    /// budget figure is a read, so the payment's chain still debits the budget account and the ledger has the last word.
    /// </summary>
    public async Task<(CouponPlan? Plan, bool NotUsable)> PlanAsync(Guid buyerId, Guid merchantId, long totalFen, Currency currency, CouponChoice choice,
        CancellationToken ct)
    {
        if (choice.Kind == CouponChoiceKind.None) return (null, false);
        var usable = await coupons.UsableForAsync(buyerId, merchantId, totalFen, currency, ct,
            only: choice.Kind == CouponChoiceKind.Given ? choice.CouponId : null);
        UsableCoupon? pick = choice.Kind == CouponChoiceKind.Best
            ? usable.Count > 0 ? usable[0] : null
            : usable.Where(u => u.CouponId == choice.CouponId).Select(u => (UsableCoupon?)u).FirstOrDefault();
        if (pick is not { } p) return (null, choice.Kind == CouponChoiceKind.Given);
        // Who funded it came with the coupon's campaign in the same read (issue 13: no second read of the campaign).
        return (new CouponPlan(p.CouponId, p.CampaignId, p.DiscountFen, p.BudgetAccount, p.ReturnOnRefund, p.MerchantFunded), false);
    }

    /// <summary>The guard a payment using <paramref name="plan"/> adds: the coupon is still available and unexpired in the batch.</summary>
    public static IGuard Guard(CouponPlan plan, long nowUs) => new CouponAvailableGuard(plan.CouponId, nowUs);

    /// <summary>The effect that marks the coupon used by <paramref name="tradeNo"/>, counts it on its campaign and records what it took off.</summary>
    public static IEffect Used(CouponPlan plan, string tradeNo, Guid buyerId, long atUs) => new CouponUsedChange(plan, tradeNo, buyerId, atUs);

    /// <summary>The effect that makes the coupon available again after its trade's full refund (only if still unexpired at <paramref name="nowUs"/>).</summary>
    public static IEffect Returned(RedemptionRow row, long nowUs) => new CouponReturnedChange(row.coupon_id, row.campaign_id, row.trade_no, nowUs);

    /// <summary>
    /// What a refund adds after crediting <paramref name="amount"/> back to <paramref name="row"/>'s budget: nothing while the
    /// campaign is open; once it is stopped or ended (its remainder already returned), the same amount passed on to its funder
    /// (transfer id from <paramref name="idName"/>) and counted as returned. A campaign closing while the refund is in flight
    /// keeps that refund's share in its budget account (still counted in <c>remaining</c>).
    /// </summary>
    public async Task<(Transfer? Forward, IEffect? Effect)> ForwardIfClosedAsync(RedemptionRow row, long amount, string idName, CancellationToken ct)
    {
        var campaign = await campaigns.FindAsync(row.campaign_id, ct);
        if (campaign is null || campaign.State == CampaignState.Open || amount <= 0) return (null, null);
        var funder = campaign.Funding == FundingSource.Platform
            ? ChartOfAccounts.MarketingExpense(campaign.Currency)
            : ChartOfAccounts.MerchantSettlement(campaign.funder_merchant_id!.Value, campaign.Currency);
        await accounts.EnsureAsync(funder, campaign.funder_merchant_id, ct);
        var forward = new Transfer(new TransferId(StableId.From("campaign-return-refund", idName)), campaign.BudgetAccount, funder.Id, amount,
            campaign.Currency, TransferCodes.CampaignReturn, Reference: "campaign:" + campaign.id.ToString("N"));
        return (forward, new CampaignReturnedLate(campaign.id, amount));
    }

    /// <summary>
    /// Every discount a campaign paid on <paramref name="tradeNo"/>: its coupons, then its first-payment discount (shown with the
    /// campaign's id as its voucher id), as the gateway's <c>voucher_detail_list</c> reports them.
    /// </summary>
    public async Task<IReadOnlyList<RedemptionRow>> DiscountsForTradeAsync(string tradeNo, CancellationToken ct) =>
        (await DiscountsForTradesAsync([tradeNo], ct)).GetValueOrDefault(tradeNo) ?? [];

    /// <summary>
    /// <see cref="DiscountsForTradeAsync"/> for several trades in one statement (a subscriber's batch of paid trades); trades that took
    /// no campaign discount are absent.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<RedemptionRow>>> DiscountsForTradesAsync(IReadOnlyCollection<string> tradeNos,
        CancellationToken ct)
    {
        if (tradeNos.Count == 0) return new Dictionary<string, IReadOnlyList<RedemptionRow>>();
        // One statement for both tables (issue 13: the notification and analytics subscribers ask this per paid trade): per trade the
        // coupons in coupon-id order, then the first-payment discount shaped as FirstPaymentRow.AsRedemption shapes it (the campaign's
        // id as the voucher's, not returned on refund, no coupon type or expiry).
        var (isR, ids) = TradeNoIn("r.trade_no", tradeNos);
        var (isF, _) = TradeNoIn("f.trade_no", tradeNos);
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<RedemptionRow>(new CommandDefinition($"""
            SELECT trade_no, coupon_id, campaign_id, user_id, discount_amount, budget_account_id, merchant_funded, return_on_refund, campaign_name,
                   coupon_type, coupon_expires_at_us
            FROM (SELECT 0 AS part, r.trade_no, r.coupon_id, r.campaign_id, r.user_id, r.discount_amount, r.budget_account_id, r.merchant_funded,
                         r.return_on_refund, c.name AS campaign_name, k.type AS coupon_type, k.expires_at_us AS coupon_expires_at_us
                  FROM coupon_redemptions r JOIN campaigns c ON c.id = r.campaign_id JOIN coupons k ON k.id = r.coupon_id
                  WHERE {isR}
                  UNION ALL
                  SELECT 1 AS part, f.trade_no, f.campaign_id, f.campaign_id, f.user_id, f.discount_amount, f.budget_account_id, f.merchant_funded,
                         0, c.name, 0, 0
                  FROM first_payment_redemptions f JOIN campaigns c ON c.id = f.campaign_id
                  WHERE {isF}) d
            ORDER BY trade_no, part, coupon_id
            """, new { ids }, cancellationToken: ct));
        return rows.GroupBy(r => r.trade_no, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<RedemptionRow>)g.ToList(), StringComparer.Ordinal);
    }

    /// <summary>"<paramref name="column"/> is one of <paramref name="tradeNos"/>" with its parameter <c>@ids</c> (as <see cref="DbValues.IdIn"/> for text).</summary>
    private (string Sql, object Ids) TradeNoIn(string column, IReadOnlyCollection<string> tradeNos) => db.Engine == DatabaseEngine.Postgres
        ? ($"{column} = ANY(@ids)", tradeNos.ToArray())
        : ($"{column} IN (SELECT value FROM json_each(@ids))", System.Text.Json.JsonSerializer.Serialize(tradeNos));

    /// <summary>The coupons <paramref name="tradeNo"/> used, with their campaign's name and the coupon's type.</summary>
    public async Task<IReadOnlyList<RedemptionRow>> ForTradeAsync(string tradeNo, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<RedemptionRow>(new CommandDefinition("""
            SELECT r.trade_no, r.coupon_id, r.campaign_id, r.user_id, r.discount_amount, r.budget_account_id, r.merchant_funded, r.return_on_refund,
                   c.name AS campaign_name, k.type AS coupon_type, k.expires_at_us AS coupon_expires_at_us
            FROM coupon_redemptions r JOIN campaigns c ON c.id = r.campaign_id JOIN coupons k ON k.id = r.coupon_id
            WHERE r.trade_no = @tradeNo ORDER BY r.coupon_id
            """, new { tradeNo }, cancellationToken: ct))).AsList();
    }
}

/// <summary>The coupon is available (not used) and unexpired: a payment using it is decided on that, so it is used once.</summary>
internal sealed record CouponAvailableGuard(Guid CouponId, long NowUs) : IGuard
{
    public string Key => "coupon:" + CouponId.ToString("N");
}

/// <summary>Evaluates <see cref="CouponAvailableGuard"/>s against <c>coupons</c> (locking the row on PostgreSQL).</summary>
internal sealed class CouponAvailableGuardChecker : GuardChecker<CouponAvailableGuard>
{
    /// <summary>
    /// Checked before the batch's account locks (issue 13, session 8): on PostgreSQL the coupon row is locked and its status and expiry
    /// read from the locked row (re-read at its newest version when another process's batch held it), so a coupon is used once
    /// whatever the account locks do. SQLite has a single writer.
    /// </summary>
    public override bool ChecksBeforeAccountLocks => true;

    protected override ValueTask<bool[]> CheckAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CouponAvailableGuard> guards,
        CancellationToken ct)
    {
        if (connection is Npgsql.NpgsqlConnection) return CheckLockedAsync(connection, transaction, guards, ct);
        var lockRows = SqlBatch.LockRows(connection);
        var queries = new SqlStatement[guards.Count];
        for (var i = 0; i < queries.Length; i++)
            queries[i] = new($"SELECT 1 FROM coupons WHERE id = @id AND status = {(int)CouponStatus.Available} AND expires_at_us > @now{lockRows}",
                new Dictionary<string, object?> { ["id"] = guards[i].CouponId, ["now"] = guards[i].NowUs });
        return SqlBatch.AnyRowsAsync(connection, transaction, queries, ct);
    }

    /// <summary>
    /// PostgreSQL: the batch's coupons locked in one statement, one primary-key probe each in the guards' (key) order, and tested
    /// on the locked rows; a row whose test fails is merely locked until the batch ends. The probe names only the primary key:
    /// a per-guard <c>… AND status = 0 AND expires_at_us > @now FOR UPDATE</c> may be planned generically on the partial index
    /// <c>coupons_expiring</c> (every available coupon), as the trade guard's was on <c>trades_open_expiry</c> (issue 13, session 7).
    /// </summary>
    private static async ValueTask<bool[]> CheckLockedAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CouponAvailableGuard> guards,
        CancellationToken ct)
    {
        var holds = new bool[guards.Count];
        var passed = await connection.QueryAsync<long>(new CommandDefinition($"""
            SELECT u.n FROM unnest(@ids::uuid[], @nows::bigint[]) WITH ORDINALITY AS u(id, now_us, n)
            CROSS JOIN LATERAL (SELECT status, expires_at_us FROM coupons WHERE id = u.id LIMIT 1 FOR UPDATE) AS c
            WHERE c.status = {(int)CouponStatus.Available} AND c.expires_at_us > u.now_us
            ORDER BY u.n
            """, new { ids = guards.Select(g => g.CouponId).ToArray(), nows = guards.Select(g => g.NowUs).ToArray() }, transaction, cancellationToken: ct));
        foreach (var n in passed) holds[checked((int)n - 1)] = true;
        return holds;
    }
}

/// <summary>A change of a coupon's use, committed with the payment's or refund's postings.</summary>
internal abstract record CouponUseChange : IEffect;

internal sealed record CouponUsedChange(CouponPlan Plan, string TradeNo, Guid BuyerId, long AtUs) : CouponUseChange;

internal sealed record CouponReturnedChange(Guid CouponId, Guid CampaignId, string TradeNo, long NowUs) : CouponUseChange;

/// <summary>
/// Writes coupon uses and returns. Each counter update is conditional on the coupon's state before the coupon row changes,
/// so a replayed effect changes nothing twice.
/// </summary>
internal sealed class CouponUseWriter : IBatchingEffectWriter
{
    public Type EffectType => typeof(CouponUseChange);

    public ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IEffect> effects, CancellationToken ct) =>
        SqlBatch.ExecuteAsync(connection, transaction, Statements(effects, connection is Npgsql.NpgsqlConnection), ct);

    /// <summary>Plain statements: they ride in the ledger batch's write round trip on PostgreSQL (issue 13, session 8).</summary>
    public bool TryAddTo(Npgsql.NpgsqlBatch batch, IReadOnlyList<IEffect> effects, List<Action> afterwards)
    {
        SqlBatch.AddTo(batch, Statements(effects, postgres: true));
        return true;
    }

    private static IReadOnlyList<SqlStatement> Statements(IReadOnlyList<IEffect> effects, bool postgres)
    {
        if (postgres && effects.Count > 1 && effects.All(e => e is CouponUsedChange)
            && effects.Select(e => ((CouponUsedChange)e).Plan.CouponId).Distinct().Count() == effects.Count)
            return [Used([.. effects.Cast<CouponUsedChange>()])];
        var statements = new List<SqlStatement>(effects.Count * 3);
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case CouponUsedChange u:
                    var p = new Dictionary<string, object?>
                    {
                        ["coupon"] = u.Plan.CouponId, ["campaign"] = u.Plan.CampaignId, ["trade"] = u.TradeNo, ["user"] = u.BuyerId, ["now"] = u.AtUs,
                        ["discount"] = u.Plan.DiscountFen, ["budget"] = u.Plan.BudgetAccount.Value, ["merchant_funded"] = u.Plan.MerchantFunded ? 1 : 0,
                        ["return_on_refund"] = u.Plan.ReturnOnRefund ? 1 : 0,
                    };
                    statements.Add(new($"""
                        UPDATE campaigns SET coupons_used = coupons_used + 1
                        WHERE id = @campaign AND EXISTS (SELECT 1 FROM coupons WHERE id = @coupon AND status = {(int)CouponStatus.Available})
                        """, p));
                    statements.Add(new($"""
                        UPDATE coupons SET status = {(int)CouponStatus.Used}, used_at_us = @now, used_trade_no = @trade
                        WHERE id = @coupon AND status = {(int)CouponStatus.Available}
                        """, p));
                    statements.Add(new("""
                        INSERT INTO coupon_redemptions (trade_no, coupon_id, campaign_id, user_id, discount_amount, budget_account_id, merchant_funded,
                            return_on_refund, created_at_us)
                        VALUES (@trade, @coupon, @campaign, @user, @discount, @budget, @merchant_funded, @return_on_refund, @now)
                        ON CONFLICT (trade_no, coupon_id) DO NOTHING
                        """, p));
                    break;
                case CouponReturnedChange r:
                    var q = new Dictionary<string, object?> { ["coupon"] = r.CouponId, ["campaign"] = r.CampaignId, ["trade"] = r.TradeNo, ["now"] = r.NowUs };
                    statements.Add(new($"""
                        UPDATE campaigns SET coupons_used = coupons_used - 1, coupons_returned = coupons_returned + 1
                        WHERE id = @campaign AND EXISTS (SELECT 1 FROM coupons WHERE id = @coupon AND status = {(int)CouponStatus.Used}
                            AND used_trade_no = @trade AND expires_at_us > @now)
                        """, q));
                    statements.Add(new($"""
                        UPDATE coupons SET status = {(int)CouponStatus.Available}, used_at_us = NULL, used_trade_no = NULL
                        WHERE id = @coupon AND status = {(int)CouponStatus.Used} AND used_trade_no = @trade AND expires_at_us > @now
                        """, q));
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(effects), effect.GetType().Name, "not a coupon change");
            }
        }
        return statements;
    }

    /// <summary>
    /// A payments batch's coupon uses (distinct coupons: their guards keep one coupon's commands in separate batches) on PostgreSQL in
    /// one statement instead of three per payment (issue 13, session 7): the coupons still available marked used, each campaign's
    /// counter raised once by how many of its coupons that marked (so, as one by one, a replayed use counts nothing twice), and the
    /// redemptions inserted unless there.
    /// </summary>
    private static SqlStatement Used(IReadOnlyList<CouponUsedChange> uses) =>
        new($"""
            WITH used AS (
                UPDATE coupons k SET status = {(int)CouponStatus.Used}, used_at_us = u.now_us, used_trade_no = u.trade
                FROM unnest(@coupons::uuid[], @trades::text[], @nows::bigint[], @campaigns::uuid[]) AS u(id, trade, now_us, campaign)
                WHERE k.id = u.id AND k.status = {(int)CouponStatus.Available}
                RETURNING u.campaign
            ), counted AS (
                UPDATE campaigns c SET coupons_used = c.coupons_used + n.used
                FROM (SELECT campaign, count(*) AS used FROM used GROUP BY campaign) AS n WHERE c.id = n.campaign
            )
            INSERT INTO coupon_redemptions (trade_no, coupon_id, campaign_id, user_id, discount_amount, budget_account_id, merchant_funded,
                return_on_refund, created_at_us)
            SELECT * FROM unnest(@trades::text[], @coupons::uuid[], @campaigns::uuid[], @users::uuid[], @discounts::bigint[], @budgets::uuid[],
                @merchant_funded::smallint[], @return_on_refund::smallint[], @nows::bigint[])
            ON CONFLICT (trade_no, coupon_id) DO NOTHING
            """, new Dictionary<string, object?>
        {
            ["coupons"] = uses.Select(u => u.Plan.CouponId).ToArray(), ["trades"] = uses.Select(u => u.TradeNo).ToArray(),
            ["nows"] = uses.Select(u => u.AtUs).ToArray(), ["campaigns"] = uses.Select(u => u.Plan.CampaignId).ToArray(),
            ["users"] = uses.Select(u => u.BuyerId).ToArray(), ["discounts"] = uses.Select(u => u.Plan.DiscountFen).ToArray(),
            ["budgets"] = uses.Select(u => u.Plan.BudgetAccount.Value).ToArray(),
            ["merchant_funded"] = uses.Select(u => (short)(u.Plan.MerchantFunded ? 1 : 0)).ToArray(),
            ["return_on_refund"] = uses.Select(u => (short)(u.Plan.ReturnOnRefund ? 1 : 0)).ToArray(),
        });
}
