using Qianbao.Ledger;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Cashback;

/// <summary>
/// Earns cashback on paid trades: a durable subscriber of <c>trade.paid</c>. A payment qualifies under a cashback campaign
/// active when it was paid, in its currency, whose scope holds the merchant and whose <c>min_spend</c> the total reaches. When
/// several qualify, only the one paying the most counts (then the earliest end, then the smallest id): cashback does not stack.
/// The credit is a pending transfer budget → buyer wallet (posted at once when <c>settle_after_hours</c> is 0), committed with
/// its <c>cashback_credits</c> row; its ids derive from the trade, so a redelivered event changes nothing. A budget that cannot
/// pay refuses the transfer: the credit is recorded as refused (no fallback to another campaign, no partial cashback).
/// </summary>
/// <remarks>
/// Refunds can come before this subscriber reaches the payment. The credit is therefore decided on the trade's refunded total
/// as read (what those refunds take back is voided from the start) and guarded by the trade's refund state and by the credit's
/// absence, while every refund guards on the credit as it read it (absent included): whichever commits second reads again.
/// </remarks>
internal sealed class CashbackSubscriber(CashbackStore store, Campaigns campaigns, TradeStore trades, LedgerAccounts accounts, MoneyPipeline pipeline,
    ILogger<CashbackSubscriber> logger) : IEventSubscriber
{
    public const string SubscriberName = "cashback.earn";

    private const int AttemptsMax = 5;

    private static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal) { EventTypes.NameOf<TradePaid>() };

    public string Name => SubscriberName;

    public IReadOnlySet<string>? Handles => Types;

    public static Guid CreditId(string tradeNo) => StableId.From("cashback/credit", tradeNo);

    /// <summary>The first transfer of a trade's cashback: pending (or posted at once).</summary>
    public static TransferId CreditTransferId(string tradeNo) => new(StableId.From("cashback/transfer", tradeNo));

    public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct)
    {
        var payments = events.Where(e => e.Event is TradePaid).ToList();
        if (payments.Count == 0) return;
        // One read of the cashback campaigns active during the batch: a payment none of them can pay (not active when it was paid,
        // another currency, a merchant out of scope) earns nothing, decided without reading anything more (most payments when
        // no cashback campaign runs). The others are decided as before.
        var during = await campaigns.ActiveDuringAsync(CampaignKind.Cashback, payments.Min(e => e.OccurredAtUs), payments.Max(e => e.OccurredAtUs), ct);
        foreach (var stored in payments)
            if (stored.Event is TradePaid paid
                && (during is null || during.Any(c => c.WasActiveAt(stored.OccurredAtUs) && c.currency == paid.Currency && c.AppliesAt(paid.MerchantId)
                                                      && c.Terms.Cashback is not null)))
                for (var attempt = 1; !await EarnAsync(paid, stored.OccurredAtUs, ct); attempt++)
                    if (attempt == AttemptsMax) throw new InvalidOperationException($"cashback of {paid.TradeNo} kept meeting concurrent refunds");
    }

    /// <summary>Decides and books the cashback of one paid trade; false when a concurrent refund changed the trade meanwhile (decide again).</summary>
    private async Task<bool> EarnAsync(TradePaid paid, long paidAtUs, CancellationToken ct)
    {
        if (await store.FindAsync(paid.TradeNo, ct) is not null) return true;
        var trade = await trades.FindAsync(paid.TradeNo, ct);
        if (trade is null) return true;

        CampaignRow? best = null;
        long earned = 0;
        foreach (var campaign in await campaigns.ActiveAtAsync(CampaignKind.Cashback, paid.Currency, paidAtUs, ct))
        {
            if (!campaign.AppliesAt(paid.MerchantId) || campaign.Terms.Cashback is not { } terms) continue;
            var amount = CashbackRules.Earned(trade.total_amount, trade.PayAmount, terms);
            if (amount > earned) (best, earned) = (campaign, amount);
        }
        if (best is null) return true;

        var settleAfterHours = best.Terms.Cashback!.SettleAfterHours;
        var takenBack = CashbackRules.TakenBack(earned, trade.refunded_amount, trade.total_amount);
        var due = earned - takenBack;
        var row = new CashbackCreditRow
        {
            id = CreditId(paid.TradeNo), trade_no = paid.TradeNo, user_id = paid.BuyerId, campaign_id = best.id, currency = paid.Currency,
            budget_account_id = best.budget_account_id, total_amount = trade.total_amount, pay_amount = trade.PayAmount, earned = earned, voided = takenBack,
            refunded_amount = trade.refunded_amount, settle_at_us = paidAtUs + settleAfterHours * 3_600_000_000L, created_at_us = paidAtUs,
        };
        if (due == 0)
        {
            // Refunded in full before it was earned: nothing moves.
            await store.WriteAloneAsync(Row(row, CashbackStatus.Voided, null, null), ct);
            return true;
        }

        var currency = Currency.Parse(paid.Currency);
        var wallet = ChartOfAccounts.UserWallet(paid.BuyerId, currency);
        await accounts.EnsureAsync(wallet, paid.BuyerId, ct);
        var atOnce = settleAfterHours == 0;
        var transferId = CreditTransferId(paid.TradeNo);
        var transfer = new Transfer(transferId, best.BudgetAccount, wallet.Id, due, currency, TransferCodes.CashbackCredit,
            atOnce ? TransferFlags.None : TransferFlags.Pending, Reference: paid.TradeNo);
        var credit = Row(row, atOnce ? CashbackStatus.Posted : CashbackStatus.Pending, transferId.Value, atOnce ? paidAtUs : null);
        // The trade's refunds as read (a trade no longer refundable needs no pin: nothing can change them).
        IGuard guard = new CashbackGuard(paid.TradeNo, null);
        if (trade.status == TradeStatus.Success)
            guard = new CompositeGuard([guard, new TradeGuard(TradeGuardKind.Refundable, paid.TradeNo, RefundedAmount: trade.refunded_amount, Amount: 0)]);
        var command = new LedgerCommand([transfer], guard: guard, effects: _ => atOnce
            ? [new CashbackCreated(credit), Posted(credit, due, paidAtUs)]
            : [new CashbackCreated(credit)]);
        var outcome = await pipeline.SubmitAsync(command, ct);
        switch (outcome.Kind)
        {
            case MoneyOutcomeKind.Applied:
                return true;
            case MoneyOutcomeKind.GuardRejected:
                return false; // a refund (or another run) came between: read again
            case MoneyOutcomeKind.LedgerRejected when outcome.Results[0] is TransferResult.ExceedsCredits:
                logger.LogInformation("Cashback of {Trade} refused: campaign {Campaign}'s budget cannot pay {Amount}", paid.TradeNo, best.id, due);
                await store.WriteAloneAsync(Row(row, CashbackStatus.Refused, null, null), ct);
                return true;
            case MoneyOutcomeKind.LedgerRejected when outcome.Results[0].IsExistsMismatch():
                // Another run booked it with other numbers (a lapsed lease): the first booking stands, and its row came with it.
                logger.LogWarning("Cashback of {Trade} was already booked differently; keeping the first booking", paid.TradeNo);
                return true;
            default:
                throw new InvalidOperationException($"cashback of {paid.TradeNo} was not applied: {outcome.Kind} {string.Join(",", outcome.Results)} {outcome.Refusal}");
        }
    }

    private static CashbackCreditRow Row(CashbackCreditRow r, CashbackStatus status, Guid? transferId, long? postedAtUs) => new()
    {
        id = r.id, trade_no = r.trade_no, user_id = r.user_id, campaign_id = r.campaign_id, currency = r.currency, budget_account_id = r.budget_account_id,
        total_amount = r.total_amount, pay_amount = r.pay_amount, earned = r.earned, voided = r.voided, refunded_amount = r.refunded_amount,
        status = (short)status, pending_transfer_id = transferId, settle_at_us = r.settle_at_us, created_at_us = r.created_at_us, posted_at_us = postedAtUs,
    };

    /// <summary>The <c>cashback.posted</c> event of a credit posting <paramref name="amount"/>.</summary>
    public static CashbackPosted Posted(CashbackCreditRow credit, long amount, long atUs) =>
        new(credit.id, credit.user_id, credit.trade_no, credit.campaign_id, amount, credit.currency)
        {
            EventId = DomainEvent.IdFor<CashbackPosted>(credit.trade_no), OccurredAtUs = atUs,
        };
}
