using Qianbao.Ledger;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Cashback;

/// <summary>
/// What one refund does to its trade's cashback, for the refund's own chain (<see cref="CashbackRefunds.PlanAsync"/>): the
/// guard on the credit as read, the part of the buyer's refund clawed back (<see cref="ClawbackFen"/>), and the transfers and
/// row change to add.
/// </summary>
internal sealed class CashbackRefundPlan(CashbackGuard guard, long clawbackFen, Func<AccountId, TransferId?, IReadOnlyList<Transfer>> transfers,
    IReadOnlyList<IEffect> effects)
{
    public CashbackGuard Guard { get; } = guard;

    /// <summary>Taken from the buyer's share of this refund and paid back to the campaign's budget (posted cashback only).</summary>
    public long ClawbackFen { get; } = clawbackFen;

    /// <summary>
    /// The transfers to chain after the refund's own legs: from the merchant's <paramref name="settlement"/> account; the
    /// clawback takes <paramref name="refundId"/> when the buyer's and the budget's legs are both empty (the refund's id names a leg that moves).
    /// </summary>
    public IReadOnlyList<Transfer> Transfers(AccountId settlement, TransferId? refundId) => transfers(settlement, refundId);

    public IReadOnlyList<IEffect> Effects { get; } = effects;
}

/// <summary>
/// The refund path's question to Cashback. Each refund takes back, cumulatively, floor(earned × refunded / total) of the
/// trade's cashback (<see cref="CashbackRules.TakenBack"/>), so the full refund takes back exactly all of it:
/// <list type="bullet">
/// <item>still pending: the pending transfer is voided and a new one of what is left is created, in the refund's chain (the
/// voided part is the budget's again); the sweeper posts what is left when it is due;</item>
/// <item>posted: the buyer's refund is reduced by the part taken back, which goes from the merchant's settlement to the budget
/// in the same chain (never from the wallet: nothing is left negative, nothing paid twice). Should rounding make a refund's
/// part larger than the buyer's share of that refund, the rest is taken by a later refund (the full one always covers it).</item>
/// </list>
/// A campaign already stopped or ended passes what comes back on to its funder in the same chain, as coupon refunds do.
/// </summary>
internal sealed class CashbackRefunds(CashbackStore store, Campaigns campaigns, LedgerAccounts accounts)
{
    /// <summary>The plan for refunding <paramref name="tradeNo"/> up to <paramref name="refundedAfter"/> in all, or null when cashback has no part in it.</summary>
    public async Task<CashbackRefundPlan?> PlanAsync(string tradeNo, string outRequestNo, long refundedAfter, long buyerShare, CancellationToken ct)
    {
        if (!await campaigns.AnyOfKindAsync(CampaignKind.Cashback, ct)) return null;
        var credit = await store.FindAsync(tradeNo, ct);
        // Not earned yet: the subscriber decides on the trade's refunds when it gets there; pin the absence so it cannot slip in between.
        if (credit is null) return new CashbackRefundPlan(new CashbackGuard(tradeNo, null), 0, (_, _) => [], []);
        if (credit.Status is not (CashbackStatus.Pending or CashbackStatus.Posted)) return null;

        var owed = CashbackRules.TakenBack(credit.earned, refundedAfter, credit.total_amount) - credit.voided - credit.clawed_back;
        if (owed <= 0) return null;
        var key = tradeNo + "/" + outRequestNo;
        var guard = new CashbackGuard(tradeNo, credit.version);
        var forward = await ForwardIfClosedAsync(credit.campaign_id, key, ct);

        if (credit.Status == CashbackStatus.Pending)
        {
            var left = credit.Amount - owed;
            var next = left > 0 ? new TransferId(StableId.From("cashback/transfer", key)) : (TransferId?)null;
            var change = new CashbackReduced(tradeNo, credit.version, owed, 0, refundedAfter, left > 0 ? CashbackStatus.Pending : CashbackStatus.Voided,
                next?.Value);
            return new CashbackRefundPlan(guard, 0, (_, _) =>
            {
                var list = new List<Transfer>
                {
                    new(new TransferId(StableId.From("cashback/void", key)), default, default, 0, credit.Currency, TransferCodes.CashbackCredit,
                        TransferFlags.VoidPending, new TransferId(credit.pending_transfer_id!.Value), Reference: tradeNo),
                };
                if (next is { } id)
                    list.Add(new(id, credit.BudgetAccount, ChartOfAccounts.UserWallet(credit.user_id, credit.Currency).Id, left, credit.Currency,
                        TransferCodes.CashbackCredit, TransferFlags.Pending, Reference: tradeNo));
                if (forward is not null) list.Add(forward.Transfer(owed));
                return list;
            }, Effects(change, forward?.Effect(owed)));
        }

        var clawback = Math.Min(owed, buyerShare);
        if (clawback <= 0) return null;
        var clawed = new CashbackReduced(tradeNo, credit.version, 0, clawback, refundedAfter, CashbackStatus.Posted, credit.pending_transfer_id);
        return new CashbackRefundPlan(guard, clawback, (settlement, refundId) =>
        {
            var list = new List<Transfer>
            {
                new(refundId ?? new TransferId(StableId.From("cashback/clawback", key)), settlement, credit.BudgetAccount, clawback, credit.Currency,
                    TransferCodes.CashbackClawback, Reference: tradeNo),
            };
            if (forward is not null) list.Add(forward.Transfer(clawback));
            return list;
        }, Effects(clawed, forward?.Effect(clawback)));
    }

    private static IReadOnlyList<IEffect> Effects(params IEffect?[] effects) => [.. effects.Where(e => e is not null).Select(e => e!)];

    /// <summary>How what comes back to a closed campaign's budget goes on to its funder.</summary>
    private sealed record Forward(Guid CampaignId, AccountId Budget, AccountId Funder, Currency Currency, string Key)
    {
        public Transfer Transfer(long amount) => new(new TransferId(StableId.From("cashback/campaign-return", Key)), Budget, Funder, amount, Currency,
            TransferCodes.CampaignReturn, Reference: "campaign:" + CampaignId.ToString("N"));

        public IEffect Effect(long amount) => new CampaignReturnedLate(CampaignId, amount);
    }

    private async Task<Forward?> ForwardIfClosedAsync(Guid campaignId, string key, CancellationToken ct)
    {
        var campaign = await campaigns.FindAsync(campaignId, ct);
        if (campaign is null || campaign.State == CampaignState.Open) return null;
        var funder = campaign.Funding == FundingSource.Platform
            ? ChartOfAccounts.MarketingExpense(campaign.Currency)
            : ChartOfAccounts.MerchantSettlement(campaign.funder_merchant_id!.Value, campaign.Currency);
        await accounts.EnsureAsync(funder, campaign.funder_merchant_id, ct);
        return new Forward(campaign.id, campaign.BudgetAccount, funder.Id, campaign.Currency, key);
    }
}
