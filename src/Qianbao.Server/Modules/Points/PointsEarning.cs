using Qianbao.Ledger;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Points;

/// <summary>
/// Earns points on every paid trade and takes them back in proportion on refunds: a durable subscriber of
/// <c>trade.paid</c> and <c>trade.refunded</c>. Each change is keyed by the event's fact (the earn transfer's id derives from
/// the trade, a clawback's from the trade and the refund's out_request_no) and that id is both the ledger transfer's and
/// the history item's, committed together; a redelivered event finds its item and does nothing, and even a concurrent
/// second run (a lapsed lease) would meet the existing transfer id in the ledger. The payments between two refunds are
/// earned together (set reads, their commands submitted at once); a refund is handled after them, so it always sees its
/// trade's earning.
/// </summary>
internal sealed class PointsSubscriber(PointsStore store, PointsOptions options, IEnumerable<IPointsMultiplier> multipliers, LedgerAccounts accounts,
    MoneyPipeline pipeline, ILogger<PointsSubscriber> logger) : IEventSubscriber
{
    public const string SubscriberName = "points.earn";

    private static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal)
    {
        EventTypes.NameOf<TradePaid>(), EventTypes.NameOf<TradeRefunded>(),
    };

    public string Name => SubscriberName;

    public IReadOnlySet<string>? Handles => Types;

    public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct)
    {
        // Earnings are decided and submitted a run at a time (the payments between two refunds); a refund is handled alone, after
        // the earnings before it have committed, so it always sees its trade's earning.
        var run = new List<(TradePaid Paid, long AtUs)>();
        foreach (var stored in events)
        {
            switch (stored.Event)
            {
                case TradePaid paid:
                    run.Add((paid, stored.OccurredAtUs));
                    break;
                case TradeRefunded refunded:
                    await EarnAsync(run, ct);
                    run.Clear();
                    await ClawBackAsync(refunded, stored.OccurredAtUs, ct);
                    break;
            }
        }
        await EarnAsync(run, ct);
    }
    /// <summary>The id of the earning of a trade: its transfer, its lot and its history item.</summary>
    public static Guid EarnId(string tradeNo) => StableId.From("points/earn", tradeNo);

    /// <summary>The id of the clawback of one refund of a trade: its transfer and its history item.</summary>
    public static Guid ClawbackId(string tradeNo, string outRequestNo) => StableId.From("points/clawback", tradeNo + "/" + outRequestNo);

    /// <summary>
    /// The earnings of a run of payments: which are booked already, the multipliers and the buyers' shortfalls are each read once
    /// for the run, then every earning's command is submitted at once, so the executor commits them in a batch or a few (one
    /// user's commands share the user's guard key and so never share a batch). A shortfall is only ever changed by this
    /// subscriber, which handles one batch at a time: it is paid off in memory payment by payment in delivery order, and each
    /// earning's effect takes its own part off (a delta), so the commit order within the run does not matter. Should one
    /// submission fail, the batch is delivered again and the earnings already booked are found by their item ids.
    /// </summary>
    private async Task EarnAsync(IReadOnlyList<(TradePaid Paid, long AtUs)> run, CancellationToken ct)
    {
        if (run.Count == 0) return;
        var booked = await store.ExistingItemsAsync(run.Select(r => EarnId(r.Paid.TradeNo)).ToList(), ct);
        var due = run.Where(r => !booked.Contains(EarnId(r.Paid.TradeNo))).ToList();
        if (due.Count == 0) return;
        var payments = due.Select(r => new PointsEarningContext(r.Paid.BuyerId, r.Paid.MerchantId, r.Paid.TradeNo, r.Paid.AmountMinor, r.AtUs)).ToList();
        var factors = new List<int[]>();
        foreach (var multiplier in multipliers) factors.Add(await multiplier.MultipliersBpsAsync(payments, ct));
        var shortfalls = await store.ShortfallsAsync(due.Select(r => r.Paid.BuyerId).Distinct().ToList(), ct);

        var alone = new List<PointsEarned>();
        var commands = new List<(LedgerCommand Command, string What)>();
        var issuanceEnsured = false;
        for (var i = 0; i < due.Count; i++)
        {
            var (paid, paidAtUs) = due[i];
            var id = EarnId(paid.TradeNo);
            // Earned on what the buyer paid: discounts (campaign budgets paid them) and redeemed points earn nothing.
            var gross = PointsRules.Earned(paid.AmountMinor - paid.DiscountMinor - paid.PointsMinor, paid.Currency, options.PointsPerYuan,
                factors.Select(f => f[i]));
            if (gross == 0) continue;

            // A shortfall left by an earlier refund is paid off first.
            var withheld = Math.Min(gross, shortfalls.GetValueOrDefault(paid.BuyerId));
            if (withheld > 0) shortfalls[paid.BuyerId] -= withheld;
            var net = gross - withheld;
            var expiresAt = PointsRules.ExpiresAt(paidAtUs, options.PointsExpiryMonths);
            var earned = new PointsEarned(paid.BuyerId, id, paidAtUs, paid.TradeNo, paid.AmountMinor, gross, withheld, net,
                PointsRules.EarnedMonth(paidAtUs), Hosting.TimeProviderExtensions.ToUnixMicroseconds(expiresAt));
            if (net == 0)
            {
                alone.Add(earned);
                continue;
            }
            var issuance = ChartOfAccounts.PointsIssuance();
            var userPoints = ChartOfAccounts.UserPoints(paid.BuyerId);
            if (!issuanceEnsured) await accounts.EnsureAsync(issuance, null, ct);
            issuanceEnsured = true;
            await accounts.EnsureAsync(userPoints, paid.BuyerId, ct);
            var transfer = new Transfer(new TransferId(id), issuance.Id, userPoints.Id, net, Currency.Points, TransferCodes.PointsEarn, Reference: paid.TradeNo);
            commands.Add((new LedgerCommand([transfer], guard: new PointsUserGuard(paid.BuyerId), effects: _ => [earned]), "earning of " + paid.TradeNo));
        }
        foreach (var earned in alone) await store.WriteAloneAsync(earned, ct);
        await Task.WhenAll(commands.Select(c => SubmitAsync(c.Command, c.What, ct)));
    }

    private async Task ClawBackAsync(TradeRefunded refunded, long refundedAtUs, CancellationToken ct)
    {
        var id = ClawbackId(refunded.TradeNo, refunded.OutRequestNo);
        if (await store.ItemExistsAsync(id, ct)) return;
        var trade = await store.FindTradeAsync(refunded.TradeNo, ct);
        if (trade is null || trade.earned == 0) return;
        var due = PointsRules.ClawbackDue(trade.earned, refunded.RefundedTotalMinor, trade.total_minor) - trade.clawed_back;
        if (due <= 0) return;

        var userPoints = ChartOfAccounts.UserPoints(trade.user_id);
        var balance = (await accounts.GetAsync([userPoints.Id], ct)).TryGetValue(userPoints.Id, out var account) ? account.CreditBalanceAvailable : 0;
        // Never below zero: what the balance cannot give now is recorded as the user's shortfall and withheld from later earnings.
        var taken = Math.Clamp(balance, 0, due);
        var clawedBack = new PointsClawedBack(trade.user_id, id, refundedAtUs, refunded.TradeNo, refunded.RefundedTotalMinor, due, taken);
        if (taken == 0)
        {
            await store.WriteAloneAsync(clawedBack, ct);
            return;
        }
        var issuance = ChartOfAccounts.PointsIssuance();
        await accounts.EnsureAsync(issuance, null, ct);
        var transfer = new Transfer(new TransferId(id), userPoints.Id, issuance.Id, taken, Currency.Points, TransferCodes.PointsClawback,
            Reference: refunded.TradeNo);
        // Should an expiry or a redemption have taken points meanwhile, the ledger refuses the overdraft and the batch is
        // delivered again, when the balance is read anew.
        await SubmitAsync(new LedgerCommand([transfer], guard: new PointsUserGuard(trade.user_id), effects: _ => [clawedBack]),
            "clawback of " + refunded.TradeNo + "/" + refunded.OutRequestNo, ct);
    }

    private async Task SubmitAsync(LedgerCommand command, string what, CancellationToken ct)
    {
        var outcome = await pipeline.SubmitAsync(command, ct);
        if (outcome.Kind == MoneyOutcomeKind.Applied) return;
        if (outcome.Results.Any(r => r.IsExistsMismatch()))
        {
            // Another run already booked this fact with other numbers (a lapsed lease ran it twice): the first one stands.
            logger.LogWarning("Points {What} was already booked differently; keeping the first booking", what);
            return;
        }
        throw new InvalidOperationException($"points {what} was not applied: {outcome.Kind} {string.Join(",", outcome.Results)} {outcome.Refusal}");
    }
}
