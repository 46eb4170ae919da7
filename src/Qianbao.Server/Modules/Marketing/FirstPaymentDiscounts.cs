using System.Data.Common;
using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>The first-payment discount a payment will take: what it takes off and the campaign budget that pays it.</summary>
internal sealed record FirstPaymentPlan(Guid CampaignId, long DiscountFen, AccountId BudgetAccount, bool MerchantFunded);

/// <summary>One user's first-payment discount, as refunds and the gateway read it.</summary>
internal sealed class FirstPaymentRow
{
    public Guid user_id { get; init; }
    public string trade_no { get; init; } = "";
    public Guid campaign_id { get; init; }
    public long discount_amount { get; init; }
    public Guid budget_account_id { get; init; }
    public short merchant_funded { get; init; }
    public string campaign_name { get; init; } = "";

    public AccountId BudgetAccount => new(budget_account_id);

    /// <summary>The row in the shape coupon redemptions have (the campaign's id stands for the voucher's), for the gateway's voucher list and refunds.</summary>
    public RedemptionRow AsRedemption() => new()
    {
        trade_no = trade_no, coupon_id = campaign_id, campaign_id = campaign_id, user_id = user_id, discount_amount = discount_amount,
        budget_account_id = budget_account_id, merchant_funded = merchant_funded, return_on_refund = 0, campaign_name = campaign_name,
    };
}

/// <summary>
/// First-payment discounts (campaign kind <c>first_payment</c>): a user's first ever payment, when its total reaches the campaign's
/// <c>min_spend</c> and its merchant is in scope, gets <c>amount</c> off from the campaign's budget. It stacks after a coupon: it
/// takes at most what the coupon left less 1 fen, so the buyer always pays at least a fen. Of several campaigns that apply, the
/// largest discount wins (then the oldest campaign). "First" is the payment path's to decide (it knows the buyer's trades and
/// guards that no other trade of the buyer is paid in the same batch); this class only says which campaign pays and writes it down.
/// </summary>
internal sealed class FirstPaymentDiscounts(Db db, Campaigns campaigns)
{
    /// <summary>
    /// The discount a first payment of <paramref name="totalFen"/> at <paramref name="merchantId"/> takes after a coupon took
    /// <paramref name="couponFen"/>; null when no campaign applies or every applicable budget is short now (the budget figure is a
    /// read: the payment's chain debits the budget account and the ledger has the last word).
    /// </summary>
    public async Task<FirstPaymentPlan?> PlanAsync(Guid merchantId, long totalFen, long couponFen, Currency currency, long nowUs, CancellationToken ct)
    {
        var room = totalFen - couponFen - 1;
        if (room <= 0) return null;
        var active = (await campaigns.ActiveAtAsync(CampaignKind.FirstPayment, nowUs, ct))
            .Where(c => c.currency == currency.Code && c.AppliesAt(merchantId) && c.Terms.FirstPayment is { } t && totalFen >= t.MinSpend)
            .ToList();
        if (active.Count == 0) return null;
        var budgets = await campaigns.BudgetsAvailableAsync(active, ct);
        FirstPaymentPlan? best = null;
        foreach (var c in active)
        {
            var discount = Math.Min(c.Terms.FirstPayment!.Amount, room);
            if (budgets[c.id] < discount || (best is not null && best.DiscountFen >= discount)) continue;
            best = new FirstPaymentPlan(c.id, discount, c.BudgetAccount, c.Funding == FundingSource.Merchant && c.funder_merchant_id == merchantId);
        }
        return best;
    }

    /// <summary>The effect that records <paramref name="plan"/> as <paramref name="buyerId"/>'s first-payment discount on <paramref name="tradeNo"/>.</summary>
    public static IEffect Used(FirstPaymentPlan plan, string tradeNo, Guid buyerId, long atUs) => new FirstPaymentUsed(plan, tradeNo, buyerId, atUs);

    /// <summary>The first-payment discount <paramref name="tradeNo"/> took, with its campaign's name; null when none.</summary>
    public async Task<FirstPaymentRow?> ForTradeAsync(string tradeNo, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<FirstPaymentRow>(new CommandDefinition("""
            SELECT r.user_id, r.trade_no, r.campaign_id, r.discount_amount, r.budget_account_id, r.merchant_funded, c.name AS campaign_name
            FROM first_payment_redemptions r JOIN campaigns c ON c.id = r.campaign_id WHERE r.trade_no = @tradeNo
            """, new { tradeNo }, cancellationToken: ct));
    }
}

/// <summary>A first-payment discount was taken: written with the payment's postings.</summary>
internal sealed record FirstPaymentUsed(FirstPaymentPlan Plan, string TradeNo, Guid BuyerId, long AtUs) : IEffect;

/// <summary>Writes <see cref="FirstPaymentUsed"/>. Idempotent: one row per user, a replay changes nothing.</summary>
internal sealed class FirstPaymentWriter : IEffectWriter
{
    public Type EffectType => typeof(FirstPaymentUsed);

    public ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IEffect> effects, CancellationToken ct)
    {
        var statements = new List<SqlStatement>(effects.Count);
        foreach (var u in effects.Cast<FirstPaymentUsed>())
            statements.Add(new("""
                INSERT INTO first_payment_redemptions (user_id, trade_no, campaign_id, discount_amount, budget_account_id, merchant_funded, created_at_us)
                VALUES (@user, @trade, @campaign, @discount, @budget, @merchant_funded, @now)
                ON CONFLICT (user_id) DO NOTHING
                """, new Dictionary<string, object?>
            {
                ["user"] = u.BuyerId, ["trade"] = u.TradeNo, ["campaign"] = u.Plan.CampaignId, ["discount"] = u.Plan.DiscountFen,
                ["budget"] = u.Plan.BudgetAccount.Value, ["merchant_funded"] = u.Plan.MerchantFunded ? 1 : 0, ["now"] = u.AtUs,
            }));
        return SqlBatch.ExecuteAsync(connection, transaction, statements, ct);
    }
}
