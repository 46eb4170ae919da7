using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Identity.Limits;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Acquiring;

internal enum PayOutcome : byte
{
    /// <summary>Paid now, or paid earlier by this same buyer (a replay).</summary>
    Paid,
    PaidByAnother,
    Closed,
    InsufficientFunds,
    NotPayable,

    /// <summary>An operator froze the buyer's wallet: it may receive money but not pay.</summary>
    BuyerFrozen,

    /// <summary>An operator froze the merchant: it accepts no payments.</summary>
    MerchantFrozen,

    /// <summary>The buyer's daily cap would be passed (nothing moved; the trade still waits).</summary>
    DailyLimitExceeded,

    /// <summary>The buyer's class I cap since opening would be passed.</summary>
    TotalLimitExceeded,

    /// <summary>The buyer's calendar-year cap would be passed.</summary>
    YearLimitExceeded,

    /// <summary>The coupon the buyer named cannot be used on this payment (used, expired, out of scope, below its minimum, or its budget is short).</summary>
    CouponNotUsable,

    /// <summary><c>use_points</c> is more than the buyer may redeem on this payment (its balance of good lots, the share cap, a fen left to pay).</summary>
    PointsNotUsable,
}

internal static class PayOutcomes
{
    /// <summary>The limit period a refusal names, or null when <paramref name="outcome"/> is not a limit's.</summary>
    public static LimitPeriod? Limit(PayOutcome outcome) => outcome switch
    {
        PayOutcome.DailyLimitExceeded => LimitPeriod.Daily,
        PayOutcome.TotalLimitExceeded => LimitPeriod.Total,
        PayOutcome.YearLimitExceeded => LimitPeriod.Year,
        _ => null,
    };

    private static PayOutcome For(LimitPeriod period) => period switch
    {
        LimitPeriod.Daily => PayOutcome.DailyLimitExceeded,
        LimitPeriod.Total => PayOutcome.TotalLimitExceeded,
        _ => PayOutcome.YearLimitExceeded,
    };

    internal static PayOutcome? Limit(LimitTransfers limits, TransferResult[] results) =>
        Money.MoneyMovement.FirstFailure(results) is { } f && limits.ExceededAt(f.Index, f.Result) is { } period ? For(period) : null;
}

/// <summary>How a refund ended. <see cref="MerchantFrozen"/>: an operator froze the merchant, whose account then pays nothing out.</summary>
internal enum RefundOutcome : byte { Refunded, Replayed, ExceedsPaid, MerchantBalanceInsufficient, NotRefundable, RequestNoReused, MerchantFrozen }

internal enum SettleOutcome : byte { Settled, Replayed, NotSettleable, ExceedsShareable, MerchantBalanceInsufficient, MerchantFrozen }

/// <summary>
/// The money paths of trades. Each is one ledger command through the money pipeline whose guard
/// (<see cref="TradeGuard"/>) locks the trade row and checks its state, and whose effects change the trade and
/// append its domain event (which merchant notifications, among others, subscribe to) in the same transaction as the postings. Transfer ids derive from the trade (and the merchant's request number),
/// so the ledger's primary key makes every path exactly-once whatever the retries.
/// </summary>
internal sealed class TradePayments(MoneyPipeline money, LedgerAccounts accounts, TradeStore trades, TierLimits limits, CouponRedemptions coupons,
    FirstPaymentDiscounts firstPayments, PointsRedemption points, PointsOptions pointsOptions, TimeProvider clock, Cashback.CashbackRefunds cashback)
{
    /// <summary>
    /// Pays <paramref name="trade"/> from <paramref name="buyerId"/>'s wallet: proceeds to the merchant, fee to the platform, and a
    /// hold when profit-sharing freezes the proceeds. Discounts come in this order, each in the same chain, the merchant credited
    /// the total either way: a coupon (<paramref name="coupon"/>: the best usable one unless the buyer said otherwise) paid by its
    /// campaign's budget; on the buyer's first ever payment a first-payment discount (<see cref="FirstPaymentDiscounts"/>) on what
    /// the coupon left; then <paramref name="usePoints"/> redeemed points paid by the platform's points budget (at most
    /// <see cref="UsablePointsAsync"/>, else <see cref="PayOutcome.PointsNotUsable"/>). The buyer always pays at least a fen. When a
    /// discount is lost to a race (the coupon used by a concurrent payment, a budget spent, another payment of the buyer first),
    /// the payment is planned again, and at last goes through without discounts; a coupon the buyer named answers
    /// <see cref="PayOutcome.CouponNotUsable"/> instead.
    /// </summary>
    public async Task<(PayOutcome Outcome, TradeRow Trade)> PayAsync(TradeRow trade, Guid buyerId, int feeBps, CancellationToken ct,
        CouponChoice coupon = default, long usePoints = 0)
    {
        var (outcome, after, _) = await PayTellingCouponsAsync(trade, buyerId, feeBps, ct, coupon, usePoints);
        return (outcome, after);
    }

    /// <summary>
    /// <see cref="PayAsync"/>, also answering the coupons the payment used when it was applied now (<c>CouponsUsed</c>: the plan's
    /// coupon, or none), so the answer needs no read of the redemptions it just wrote; null when the trade was paid earlier (a
    /// replay) or not paid, for the caller to read.
    /// </summary>
    public async Task<(PayOutcome Outcome, TradeRow Trade, IReadOnlyList<(Guid CouponId, long DiscountFen)>? CouponsUsed)> PayTellingCouponsAsync(TradeRow trade,
        Guid buyerId, int feeBps, CancellationToken ct, CouponChoice coupon = default, long usePoints = 0)
    {
        var currency = Currency.Parse(trade.currency);
        // Each attempt plans from fresh reads; when an incentive was lost to a race (its coupon used, its budget spent, another
        // payment of the buyer made first), the next one plans again, and the last goes without (a coupon the buyer named excepted).
        for (var attempt = 1; ; attempt++)
        {
            var last = attempt == PayAttemptsMax;
            CouponPlan? plan = null;
            FirstPaymentPlan? first = null;
            // Only an unpaid trade takes a discount: a replay of a paid one answers from the trade as it is.
            if (trade.status == TradeStatus.WaitBuyerPay)
            {
                var choice = last && coupon.Kind != CouponChoiceKind.Given ? CouponChoice.None : coupon;
                (plan, var notUsable) = await coupons.PlanAsync(buyerId, trade.merchant_id, trade.total_amount, currency, choice, ct);
                if (notUsable) return (PayOutcome.CouponNotUsable, trade, null);
                if (!last && !await trades.BuyerHasPaidAsync(buyerId, trade.trade_no, ct))
                    first = await firstPayments.PlanAsync(trade.merchant_id, trade.total_amount, plan?.DiscountFen ?? 0, currency,
                        clock.GetUnixMicroseconds(), ct);
            }
            var redeem = default(PointsPlan);
            if (usePoints > 0 && trade.status == TradeStatus.WaitBuyerPay)
            {
                // Points come after the discounts: capped on the trade's total, and leaving the buyer a fen to pay.
                var usableMax = await UsablePointsAsync(buyerId, trade.total_amount, (plan?.DiscountFen ?? 0) + (first?.DiscountFen ?? 0), currency, ct);
                if (usePoints > usableMax || PointsRules.RedeemFen(usePoints, pointsOptions.PointsPerYuanDiscount) is not { } fen)
                    return (PayOutcome.PointsNotUsable, trade, null);
                redeem = new PointsPlan(usePoints, fen);
            }
            var (outcome, after, lost, appliedNow) = await SubmitPaymentAsync(trade, buyerId, feeBps, plan, first, redeem, ct);
            // Applied now: the trade guard held, so the redemption committed with the postings is this plan's coupon (or none).
            if (!lost) return (outcome, after, !appliedNow ? null : plan is null ? [] : [(plan.CouponId, plan.DiscountFen)]);
            if (last) return (PayOutcome.CouponNotUsable, after, null); // only the named coupon rides in the last attempt
        }
    }

    /// <summary>
    /// The most points <paramref name="buyerId"/> may redeem on a payment of <paramref name="totalFen"/> after <paramref name="discountFen"/>
    /// of discounts (<see cref="PointsRules.UsableMax"/>); only CNY trades take points.
    /// </summary>
    public async Task<long> UsablePointsAsync(Guid buyerId, long totalFen, long discountFen, Currency currency, CancellationToken ct) =>
        currency != Currency.Cny ? 0
            : PointsRules.UsableMax(totalFen, discountFen, await points.UsableAsync(buyerId, clock.GetUnixMicroseconds(), ct),
                pointsOptions.PointsPerYuanDiscount, pointsOptions.PointsMaxShareBps);

    /// <summary>Points a payment redeems and the fen they take off.</summary>
    private readonly record struct PointsPlan(long Points, long Fen);

    /// <summary>Attempts of one payment when its discounts are lost to races (see <see cref="PayAsync"/>).</summary>
    private const int PayAttemptsMax = 3;

    private async Task<(PayOutcome Outcome, TradeRow Trade, bool DiscountLost, bool AppliedNow)> SubmitPaymentAsync(TradeRow trade, Guid buyerId, int feeBps,
        CouponPlan? plan, FirstPaymentPlan? first, PointsPlan redeem, CancellationToken ct)
    {
        var currency = Currency.Parse(trade.currency);
        var wallet = ChartOfAccounts.UserWallet(buyerId, currency);
        var settlement = ChartOfAccounts.MerchantSettlement(trade.merchant_id, currency);
        var revenue = ChartOfAccounts.FeeRevenue(currency);
        await accounts.EnsureAsync(wallet, buyerId, ct);
        await accounts.EnsureAsync(settlement, trade.merchant_id, ct);
        await accounts.EnsureAsync(revenue, null, ct);

        // A coupon's discount is always less than the total (CouponRules), and a first-payment discount takes at most what the
        // coupon left less a fen (FirstPaymentDiscounts), so the buyer pays at least a fen.
        var discount = (plan?.DiscountFen ?? 0) + (first?.DiscountFen ?? 0);
        var payAmount = trade.total_amount - discount - redeem.Fen;
        // Fee rounds down to the fen: the platform never charges more than the stated rate. It is charged on the total.
        var fee = checked(trade.total_amount * feeBps) / 10_000;
        var transfers = new List<Transfer>
        {
            new(Id("trade-payment", trade.trade_no), wallet.Id, settlement.Id, payAmount, currency, TransferCodes.MerchantPayment,
                Reference: trade.trade_no),
        };
        if (plan is not null)
            transfers.Add(new(Id("trade-coupon", trade.trade_no + "/" + plan.CouponId.ToString("N")), plan.BudgetAccount, settlement.Id, plan.DiscountFen, currency,
                TransferCodes.CouponDiscount, Reference: trade.trade_no));
        if (first is not null)
            transfers.Add(new(Id("trade-first-payment", trade.trade_no), first.BudgetAccount, settlement.Id, first.DiscountFen, currency,
                TransferCodes.FirstPaymentDiscount, Reference: trade.trade_no));
        // Redeemed points: the platform's points budget pays the merchant their worth, and the points go to the redeemed sink.
        var pointsId = Id("trade-points", trade.trade_no);
        var pointsIndex = -1;
        if (redeem.Points > 0)
        {
            var pointsBudget = ChartOfAccounts.PointsDiscountExpense(currency);
            await accounts.EnsureAsync(pointsBudget, null, ct);
            await points.EnsureAccountsAsync(ct);
            pointsIndex = transfers.Count;
            transfers.Add(new(Id("trade-points-discount", trade.trade_no), pointsBudget.Id, settlement.Id, redeem.Fen, currency, TransferCodes.PointsDiscount,
                Reference: trade.trade_no));
            transfers.Add(PointsRedemption.Transfer(pointsId, buyerId, redeem.Points, reference: trade.trade_no));
        }
        if (fee > 0)
            transfers.Add(new(Id("trade-fee", trade.trade_no), settlement.Id, revenue.Id, fee, currency, TransferCodes.PlatformFee, Reference: trade.trade_no));
        Guid? holdId = null;
        if (trade.royalty_freeze == 1 && trade.total_amount - fee > 0)
        {
            var freeze = ChartOfAccounts.RoyaltyFreeze(currency);
            await accounts.EnsureAsync(freeze, null, ct);
            var hold = Id("trade-freeze", trade.trade_no);
            holdId = hold.Value;
            transfers.Add(new(hold, settlement.Id, freeze.Id, trade.total_amount - fee, currency, TransferCodes.RoyaltyFreeze, TransferFlags.Pending,
                Reference: trade.trade_no));
        }
        // The buyer's tier limits ride in the payment's chain, before the money: a cap reached refuses it in the same transaction.
        // They count what the buyer pays, not what a campaign paid for them.
        var limited = await limits.ForPaymentAsync(buyerId, transfers[0].Id, payAmount, currency, ct);
        transfers.InsertRange(0, limited.Transfers);
        var paymentIndex = limited.Count;
        if (pointsIndex >= 0) pointsIndex += limited.Count;
        Link(transfers);

        var nowUs = clock.GetUnixMicroseconds();
        var guards = new List<IGuard> { new TradeGuard(TradeGuardKind.Payable, trade.trade_no, NowUs: nowUs, BuyerId: buyerId) };
        if (plan is not null) guards.Add(CouponRedemptions.Guard(plan, nowUs));
        if (first is not null) guards.Add(new BuyerFirstPaymentGuard(buyerId, trade.trade_no));
        if (redeem.Points > 0) guards.Add(PointsRedemption.Guard(buyerId, redeem.Points, nowUs));
        var guard = guards.Count == 1 ? guards[0] : new CompositeGuard(guards);
        var paid = new TradePaidChange(trade.trade_no, buyerId, nowUs, fee, holdId, discount, redeem.Points, redeem.Fen);
        var command = new LedgerCommand(transfers, guard: guard,
            effects: _ => Effects(
                paid,
                redeem.Points > 0 ? PointsRedemption.Consumed(pointsId, buyerId, redeem.Points, nowUs) : null,
                plan is null ? null : CouponRedemptions.Used(plan, trade.trade_no, buyerId, nowUs),
                first is null ? null : FirstPaymentDiscounts.Used(first, trade.trade_no, buyerId, nowUs),
                new TradePaid(trade.trade_no, trade.app_id, trade.out_trade_no, trade.merchant_id, buyerId, trade.total_amount, fee, trade.currency, discount, redeem.Fen)
                {
                    EventId = DomainEvent.IdFor<TradePaid>(trade.trade_no), OccurredAtUs = nowUs,
                }));

        var outcome = await money.SubmitAsync(command, ct);
        if (outcome.Kind == MoneyOutcomeKind.Applied)
        {
            limits.Applied(limited);
            trades.Paid(buyerId, trade.trade_no);
        }
        // Applied: the trade guard held the row (locked, unpaid, this buyer's to pay) and the trade change committed with the postings,
        // so the row is what we read with that change (issue 13: one read fewer per payment). Otherwise read what is there now.
        var after = outcome.Kind == MoneyOutcomeKind.Applied ? trade.PaidBy(paid) : (await trades.FindAsync(trade.trade_no, ct))!;
        var status = after.EffectiveStatus(nowUs);
        // A discount's guard failed (the trade's still holds) or the ledger refused a budget's transfer (they follow the payment's):
        // a discount was lost to a race.
        var budgetLegs = (plan is null ? 0 : 1) + (first is null ? 0 : 1);
        if (budgetLegs > 0
            && ((outcome.Kind == MoneyOutcomeKind.GuardRejected && status == TradeStatus.WaitBuyerPay && (after.buyer_id is null || after.buyer_id == buyerId))
                || (outcome.Kind == MoneyOutcomeKind.LedgerRejected
                    && outcome.Results.Skip(paymentIndex + 1).Take(budgetLegs).Any(r => r is TransferResult.ExceedsCredits)
                    && PayOutcomes.Limit(limited, outcome.Results) is null && outcome.Results[paymentIndex] is not TransferResult.ExceedsCredits)))
            return (PayOutcome.NotPayable, after, true, false);
        var result = outcome.Kind switch
        {
            MoneyOutcomeKind.Applied => (PayOutcome.Paid, after),
            MoneyOutcomeKind.GuardRejected => status switch
            {
                TradeStatus.Success or TradeStatus.Finished when after.buyer_id == buyerId => (PayOutcome.Paid, after),
                TradeStatus.Success or TradeStatus.Finished => (PayOutcome.PaidByAnother, after),
                TradeStatus.Closed => (PayOutcome.Closed, after),
                // Still payable by this buyer: the points guard failed (they went to another payment, a clawback or an expiry).
                _ when redeem.Points > 0 && (after.buyer_id is null || after.buyer_id == buyerId) => (PayOutcome.PointsNotUsable, after),
                _ => (PayOutcome.NotPayable, after), // WAIT_BUYER_PAY for another designated buyer
            },
            MoneyOutcomeKind.Refused when outcome.Refusal?.Code == Http.ErrorCodes.MerchantFrozen => (PayOutcome.MerchantFrozen, after),
            MoneyOutcomeKind.Refused => (PayOutcome.BuyerFrozen, after),
            MoneyOutcomeKind.LedgerRejected when PayOutcomes.Limit(limited, outcome.Results) is { } limit => (limit, after),
            MoneyOutcomeKind.LedgerRejected when outcome.Results[paymentIndex] is TransferResult.ExceedsCredits or TransferResult.DebitAccountNotFound =>
                (PayOutcome.InsufficientFunds, after),
            // The points went meanwhile (another payment redeemed them, or they expired): nothing moved.
            MoneyOutcomeKind.LedgerRejected when pointsIndex >= 0
                && outcome.Results[pointsIndex + 1] is TransferResult.ExceedsCredits or TransferResult.DebitAccountNotFound => (PayOutcome.PointsNotUsable, after),
            _ => throw new InvariantViolationException($"trade {trade.trade_no} payment failed with {string.Join(",", outcome.Results)}"),
        };
        return (result.Item1, result.Item2, false, outcome.Kind == MoneyOutcomeKind.Applied);
    }

    /// <summary>Refunds <paramref name="amount"/> of a paid trade to its buyer, idempotent per <paramref name="outRequestNo"/>.</summary>
    /// <param name="alsoCommit">
    /// Another module's state change and events that must commit with the refund or not at all (a complaint resolved by
    /// this refund); their writers must be idempotent, as every effect's.
    /// </param>
    /// <param name="attempt">Which try this is: a refund whose trade's cashback changed under it (see below) decides again, a bounded number of times.</param>
    public async Task<(RefundOutcome Outcome, TradeRow Trade)> RefundAsync(TradeRow trade, string outRequestNo, long amount, CancellationToken ct,
        IReadOnlyList<IEffect>? alsoCommit = null, int attempt = 1)
    {
        var currency = Currency.Parse(trade.currency);
        var buyer = trade.buyer_id ?? throw new InvariantViolationException("a refundable trade has a buyer");
        var settlement = ChartOfAccounts.MerchantSettlement(trade.merchant_id, currency);
        var wallet = ChartOfAccounts.UserWallet(buyer, currency);
        var refundId = Id("trade-refund", trade.trade_no + "/" + outRequestNo);
        var refundedAfter = checked(trade.refunded_amount + amount);
        // A trade a coupon paid part of refunds in proportion: the buyer floor(R × P / T) cumulatively (R refunded, P paid,
        // T total), the budget the rest, so the full refund gives the buyer exactly P and the budget exactly the discount.
        var redemption = trade.discount_amount > 0 ? (await coupons.ForTradeAsync(trade.trade_no, ct)).FirstOrDefault() : null;
        var firstPayment = trade.discount_amount > 0 ? await firstPayments.ForTradeAsync(trade.trade_no, ct) : null;
        var buyerPart = trade.PayAmount == trade.total_amount ? amount : BuyerShare(trade, refundedAfter) - BuyerShare(trade, trade.refunded_amount);
        // What is not the buyer's splits the same way, nested so that every part only grows and ends exactly at its amount: the
        // platform's points budget floor(B × Pts / (D + Pts)) of the cumulative non-buyer share B, then of the rest the first-payment
        // budget floor(B' × F / D) (F its discount, D the trade's), the coupon's budget what remains.
        var pointsPart = PointsShare(trade, refundedAfter) - PointsShare(trade, trade.refunded_amount);
        var firstPart = firstPayment is null ? 0
            : FirstShare(trade, firstPayment.discount_amount, refundedAfter) - FirstShare(trade, firstPayment.discount_amount, trade.refunded_amount);
        var budgetPart = amount - buyerPart - pointsPart - firstPart;
        // Redeemed points come back in proportion to the refunded total: floor(R × points_used / T) cumulatively.
        var pointsBack = trade.points_used == 0 ? 0
            : (long)((Int128)refundedAfter * trade.points_used / trade.total_amount - (Int128)trade.refunded_amount * trade.points_used / trade.total_amount);
        var pointsReturned = pointsBack == 0 ? default
            : PointsRedemption.Returned(Id("trade-refund-points", trade.trade_no + "/" + outRequestNo), buyer, pointsBack, trade.trade_no,
                trade.paid_at_us!.Value, pointsOptions.PointsExpiryMonths, clock.GetUnixMicroseconds());
        if (pointsBack > 0) await points.EnsureUserAsync(buyer, ct);
        // Cashback earned on the trade is taken back in proportion: a pending one voided in part, a posted one from the buyer's share
        // (after the other parts are decided: the clawback is the buyer's money going back to the cashback budget).
        var cashbackPlan = await cashback.PlanAsync(trade.trade_no, outRequestNo, refundedAfter, buyerPart, ct);
        buyerPart -= cashbackPlan?.ClawbackFen ?? 0;
        var (forward, returnedLate) = redemption is null ? (null, null)
            : await coupons.ForwardIfClosedAsync(redemption, budgetPart, trade.trade_no + "/" + outRequestNo, ct);
        var (firstForward, firstReturnedLate) = firstPayment is null ? (null, null)
            : await coupons.ForwardIfClosedAsync(firstPayment.AsRedemption(), firstPart, trade.trade_no + "/" + outRequestNo + "/first", ct);

        var transfers = new List<Transfer>();
        // The fee on the refunded part goes back to the merchant first, so a full refund (or a cancel) of a merchant's
        // only sale is payable from its proceeds, and the platform keeps the fee only on what stayed sold.
        var feeBack = FeeKept(trade, trade.refunded_amount) - FeeKept(trade, refundedAfter);
        if (feeBack > 0)
            transfers.Add(new(Id("trade-fee-refund", trade.trade_no + "/" + outRequestNo), ChartOfAccounts.FeeRevenue(currency).Id, settlement.Id, feeBack,
                currency, TransferCodes.PlatformFee, Reference: trade.trade_no));
        Guid? newHold = trade.freeze_hold_id;
        if (trade.freeze_hold_id is { } hold && trade.settled == 0)
        {
            // Frozen proceeds: release the hold, refund, and freeze what remains of the merchant's net proceeds.
            transfers.Add(new(Id("trade-refund-release", trade.trade_no + "/" + outRequestNo), default, default, 0, currency, TransferCodes.RoyaltyFreeze,
                TransferFlags.VoidPending, new TransferId(hold)));
            var remaining = trade.total_amount - refundedAfter - FeeKept(trade, refundedAfter);
            newHold = null;
            AddRefund(transfers);
            if (remaining > 0)
            {
                var next = Id("trade-freeze", trade.trade_no + "/" + outRequestNo);
                newHold = next.Value;
                transfers.Add(new(next, settlement.Id, ChartOfAccounts.RoyaltyFreeze(currency).Id, remaining, currency, TransferCodes.RoyaltyFreeze,
                    TransferFlags.Pending, Reference: trade.trade_no));
            }
        }
        else
        {
            AddRefund(transfers);
        }
        Link(transfers);

        // The refund's own id names whichever leg moves: the buyer's, or the budget's alone when the buyer's share rounds to 0.
        void AddRefund(List<Transfer> list)
        {
            if (buyerPart > 0)
                list.Add(new(refundId, settlement.Id, wallet.Id, buyerPart, currency, TransferCodes.Refund, Reference: trade.trade_no));
            if (budgetPart > 0)
                list.Add(new(buyerPart > 0 ? Id("trade-refund-budget", trade.trade_no + "/" + outRequestNo) : refundId, settlement.Id,
                    redemption!.BudgetAccount, budgetPart, currency, TransferCodes.CouponDiscountReturn, Reference: trade.trade_no));
            if (firstPart > 0)
                list.Add(new(buyerPart > 0 || budgetPart > 0 ? Id("trade-refund-first", trade.trade_no + "/" + outRequestNo) : refundId, settlement.Id,
                    firstPayment!.BudgetAccount, firstPart, currency, TransferCodes.FirstPaymentDiscountReturn, Reference: trade.trade_no));
            if (pointsPart > 0)
                list.Add(new(buyerPart > 0 || budgetPart > 0 || firstPart > 0 ? Id("trade-refund-points-discount", trade.trade_no + "/" + outRequestNo) : refundId,
                    settlement.Id, ChartOfAccounts.PointsDiscountExpense(currency).Id, pointsPart, currency, TransferCodes.PointsDiscountReturn,
                    Reference: trade.trade_no));
            if (pointsBack > 0) list.Add(pointsReturned.Transfer);
            if (forward is not null) list.Add(forward);
            if (firstForward is not null) list.Add(firstForward);
            if (cashbackPlan is not null)
                list.AddRange(cashbackPlan.Transfers(settlement.Id, buyerPart > 0 || budgetPart > 0 || firstPart > 0 || pointsPart > 0 ? null : refundId));
        }

        var nowUs = clock.GetUnixMicroseconds();
        var full = refundedAfter == trade.total_amount;
        var status = full ? TradeStatus.Closed : TradeStatus.Success;
        IGuard refundGuard = new TradeGuard(TradeGuardKind.Refundable, trade.trade_no, RefundedAmount: trade.refunded_amount, Amount: amount);
        if (cashbackPlan is not null) refundGuard = new CompositeGuard([refundGuard, cashbackPlan.Guard]);
        var command = new LedgerCommand(transfers,
            guard: refundGuard,
            effects: _ => Effects(
                new TradeRefundedChange(trade.trade_no, outRequestNo, amount, refundId.Value, refundedAfter, status, full, newHold, nowUs),
                new TradeRefunded(trade.trade_no, trade.app_id, outRequestNo, trade.merchant_id, buyer, amount, refundedAfter, trade.currency)
                {
                    EventId = DomainEvent.IdFor<TradeRefunded>(trade.trade_no + "/" + outRequestNo), OccurredAtUs = nowUs,
                },
                // After a full refund the coupon is the buyer's again, when its campaign says so and it has not expired (checked in the write).
                full && redemption is { return_on_refund: 1 } ? CouponRedemptions.Returned(redemption, nowUs) : null,
                returnedLate, firstReturnedLate, pointsReturned.Effect).Concat(cashbackPlan?.Effects ?? []).Concat(alsoCommit ?? []).ToList());

        var outcome = await money.SubmitAsync(command, ct);
        var after = (await trades.FindAsync(trade.trade_no, ct))!;
        // Only the cashback moved under us (its sweeper posted it, or its subscriber earned it): decide again on what is there now.
        if (outcome.Kind == MoneyOutcomeKind.GuardRejected && cashbackPlan is not null && attempt < RefundAttemptsMax && after.status == TradeStatus.Success
            && after.refunded_amount == trade.refunded_amount)
            return await RefundAsync(after, outRequestNo, amount, ct, alsoCommit, attempt + 1);
        var results = outcome.Results;
        return outcome.Kind switch
        {
            MoneyOutcomeKind.Applied => (RefundOutcome.Refunded, after),
            MoneyOutcomeKind.GuardRejected => (RefundOutcome.NotRefundable, after), // the caller re-reads and decides (a race: try again)
            MoneyOutcomeKind.LedgerRejected when results.Any(r => r is TransferResult.ExceedsCredits) => (RefundOutcome.MerchantBalanceInsufficient, after),
            MoneyOutcomeKind.LedgerRejected when results.Any(r => r.IsExistsMismatch()) => (RefundOutcome.RequestNoReused, after),
            // Refused: a refund debits the merchant, so only the merchant's freeze refuses it.
            MoneyOutcomeKind.Refused => (RefundOutcome.MerchantFrozen, after),
            _ => throw new InvariantViolationException($"trade {trade.trade_no} refund failed with {outcome.Kind} {string.Join(",", results)}"),
        };
    }

    /// <summary>Tries of one refund whose trade's cashback keeps changing under it.</summary>
    private const int RefundAttemptsMax = 3;

    /// <summary>Attempts of one settle request when concurrent settlements or refunds of the trade keep changing its totals.</summary>
    private const int SettleAttemptsMax = 5;

    /// <summary>
    /// Profit-sharing: pays each receiver its share out of the merchant's proceeds; the first settlement of a frozen
    /// trade also releases the rest of the freeze. A trade may be settled by several requests (each its own
    /// <paramref name="outRequestNo"/>), together never more than <see cref="RoyaltyBounds.RemainingMinor"/> allows:
    /// a larger request moves nothing. Replays of a settled request answer <see cref="SettleOutcome.Replayed"/>.
    /// </summary>
    public async Task<SettleOutcome> SettleAsync(TradeRow trade, string outRequestNo, IReadOnlyList<(Guid Receiver, long Amount)> shares, int royaltyMaxBps,
        CancellationToken ct)
    {
        var total = 0L;
        foreach (var share in shares) total = checked(total + share.Amount);
        for (var attempt = 1; ; attempt++)
        {
            if (trade.status != TradeStatus.Success) return SettleOutcome.NotSettleable;
            var remaining = RoyaltyBounds.RemainingMinor(trade.total_amount, FeeKept(trade, trade.refunded_amount), trade.refunded_amount,
                trade.settled_amount, royaltyMaxBps);
            if (!RoyaltyBounds.Allows(total, remaining)) return SettleOutcome.ExceedsShareable;

            var (outcome, guardRejected) = await SubmitSettlementAsync(trade, outRequestNo, shares, total, ct);
            if (!guardRejected) return outcome;
            // Something changed the trade between our read and the batch: this same request (a replay), another
            // settlement or a refund. Decide again on what is there now.
            if (await trades.FindSettleNoAsync(trade.trade_no, outRequestNo, ct) is not null) return SettleOutcome.Replayed;
            var now = await trades.FindAsync(trade.trade_no, ct);
            if (now is null || attempt == SettleAttemptsMax
                || (now.settled_amount == trade.settled_amount && now.refunded_amount == trade.refunded_amount && now.status == trade.status))
                return SettleOutcome.NotSettleable;
            trade = now;
        }
    }

    private async Task<(SettleOutcome Outcome, bool GuardRejected)> SubmitSettlementAsync(TradeRow trade, string outRequestNo,
        IReadOnlyList<(Guid Receiver, long Amount)> shares, long total, CancellationToken ct)
    {
        var currency = Currency.Parse(trade.currency);
        var settlement = ChartOfAccounts.MerchantSettlement(trade.merchant_id, currency);
        var transfers = new List<Transfer>();
        if (trade.freeze_hold_id is { } hold)
            transfers.Add(new(Id("trade-settle-release", trade.trade_no), default, default, 0, currency, TransferCodes.RoyaltyFreeze,
                TransferFlags.VoidPending, new TransferId(hold)));
        for (var i = 0; i < shares.Count; i++)
        {
            var receiver = ChartOfAccounts.MerchantSettlement(shares[i].Receiver, currency);
            await accounts.EnsureAsync(receiver, shares[i].Receiver, ct);
            transfers.Add(new(Id("trade-settle", $"{trade.trade_no}/{outRequestNo}/{i}"), settlement.Id, receiver.Id, shares[i].Amount, currency,
                TransferCodes.RoyaltyShare, Reference: trade.trade_no));
        }
        Link(transfers);

        var nowUs = clock.GetUnixMicroseconds();
        // The guard pins the totals the bounds were computed from, and refuses a request number already settled, so a
        // replay never writes its settlement twice.
        var command = new LedgerCommand(transfers,
            guard: new TradeGuard(TradeGuardKind.Settleable, trade.trade_no, RefundedAmount: trade.refunded_amount, SettledAmount: trade.settled_amount,
                OutRequestNo: outRequestNo),
            effects: _ => Effects(
                new TradeSettledChange(trade.trade_no, outRequestNo, SettleNo(trade.trade_no, outRequestNo), checked(trade.settled_amount + total), nowUs),
                new TradeSettled(trade.trade_no, trade.app_id, outRequestNo, SettleNo(trade.trade_no, outRequestNo), trade.merchant_id,
                    [.. shares.Select(s => new SettlementShare(s.Receiver, s.Amount))], total, trade.currency)
                {
                    EventId = DomainEvent.IdFor<TradeSettled>(trade.trade_no + "/" + outRequestNo), OccurredAtUs = nowUs,
                }));

        var outcome = await money.SubmitAsync(command, ct);
        return outcome.Kind switch
        {
            MoneyOutcomeKind.Applied => (SettleOutcome.Settled, false),
            MoneyOutcomeKind.GuardRejected => (SettleOutcome.NotSettleable, true),
            MoneyOutcomeKind.LedgerRejected when outcome.Results.Any(r => r is TransferResult.ExceedsCredits) => (SettleOutcome.MerchantBalanceInsufficient, false),
            // Refused: a settlement debits the merchant, so only the merchant's freeze refuses it.
            MoneyOutcomeKind.Refused => (SettleOutcome.MerchantFrozen, false),
            _ => throw new InvariantViolationException($"trade {trade.trade_no} settlement failed with {outcome.Kind} {string.Join(",", outcome.Results)}"),
        };
    }

    /// <summary>Our settlement number for a settle request: stable, so a replay answers the same.</summary>
    public static string SettleNo(string tradeNo, string outRequestNo) =>
        "S" + StableId.From("settle-no", tradeNo + "/" + outRequestNo).ToString("N")[..24];

    /// <summary>
    /// The part of the trade's fee the platform keeps once <paramref name="refunded"/> of it has been refunded: the fee
    /// less its refunded share (rounded down, so the returns add up to the whole fee on a full refund).
    /// </summary>
    public static long FeeKept(TradeRow trade, long refunded) =>
        trade.total_amount == 0 ? trade.fee_amount : trade.fee_amount - checked(trade.fee_amount * refunded) / trade.total_amount;

    /// <summary>What the buyer has had back once <paramref name="refunded"/> of the trade is refunded: floor(refunded × paid / total).</summary>
    public static long BuyerShare(TradeRow trade, long refunded) => (long)((Int128)refunded * trade.PayAmount / trade.total_amount);

    /// <summary>What the platform's points budget has had back once <paramref name="refunded"/> is refunded: floor(B × Pts / (D + Pts)).</summary>
    private static long PointsShare(TradeRow trade, long refunded) => trade.points_amount == 0 ? 0
        : (long)((Int128)(refunded - BuyerShare(trade, refunded)) * trade.points_amount / (trade.discount_amount + trade.points_amount));

    /// <summary>What the first-payment budget has had back once <paramref name="refunded"/> is refunded: floor(B' × F / D), B' the budgets' share so far.</summary>
    private static long FirstShare(TradeRow trade, long firstDiscount, long refunded) =>
        (long)((Int128)(refunded - BuyerShare(trade, refunded) - PointsShare(trade, refunded)) * firstDiscount / trade.discount_amount);

    private static TransferId Id(string scope, string name) => new(StableId.From(scope, name));

    /// <summary>Marks a chain: every transfer but the last carries <see cref="TransferFlags.Linked"/>.</summary>
    private static void Link(List<Transfer> transfers)
    {
        for (var i = 0; i < transfers.Count - 1; i++) transfers[i] = transfers[i] with { Flags = transfers[i].Flags | TransferFlags.Linked };
    }

    private static IReadOnlyList<IEffect> Effects(params IEffect?[] effects) => [.. effects.Where(e => e is not null).Select(e => e!)];
}
