using Qianbao.Ledger;

namespace Qianbao.Server.Money;

/// <summary>Account kinds (the ledger's account <c>Code</c>). Stored; never renumber.</summary>
public static class AccountCodes
{
    public const ushort UserWallet = 1;
    public const ushort MerchantSettlement = 2;
    public const ushort ChannelClearing = 3;
    public const ushort FeeRevenue = 4;
    public const ushort MarketingBudget = 5;
    public const ushort RoyaltyFreeze = 6;

    /// <summary>A user's spending allowance for one period (a day, a year, since opening): credited by grants, debited by usage.</summary>
    public const ushort SpendingLimit = 7;

    /// <summary>
    /// The system side of limit accounts' grants and usage: no floor. One shared account funds every grant; each payer has one
    /// more that their usage credits (<see cref="ChartOfAccounts.LimitControl(System.Guid)"/>).
    /// </summary>
    public const ushort LimitControl = 8;

    /// <summary>The other side of court-ordered amount holds: pending credits from wallets, passed on when a hold is deducted.</summary>
    public const ushort JudicialHold = 9;

    /// <summary>Money deducted under a court order and owed to that court (one account per order reference), until remitted.</summary>
    public const ushort CourtRemittance = 10;

    /// <summary>The platform's marketing spend: debit-normal with no limit; campaigns the platform funds draw on it.</summary>
    public const ushort MarketingExpense = 11;

    /// <summary>The platform's points budget: debit-normal with no limit; its balance is what redeemed points took off payments, net of refunds.</summary>
    public const ushort PointsDiscountExpense = 19;

    /// <summary>
    /// One red packet's escrow (numbered from 20: codes 11..19 are left to the other marketing accounts): the sender's money
    /// moved out of the wallet at creation, paid out share by share to claimers and the rest back to the sender at expiry.
    /// </summary>
    public const ushort RedPacket = 20;

    // Loyalty points (PTS) take codes 30..39, away from the money codes other modules add after 10.

    /// <summary>A user's points (PTS): credit-normal, never negative. Not a wallet: <c>GET /v1/wallet</c> never shows it.</summary>
    public const ushort UserPoints = 30;

    /// <summary>Where every point comes from: debit-normal, no floor; its balance is the points ever issued net of clawbacks.</summary>
    public const ushort PointsIssuance = 31;

    /// <summary>Where expired points go: credit-normal, never negative; its balance is every point that ever expired.</summary>
    public const ushort PointsExpired = 32;

    /// <summary>Where points redeemed at payment go (used by the payment integration; docs/ARCHITECTURE.md, Points).</summary>
    public const ushort PointsRedeemed = 33;
}

/// <summary>Transfer kinds (the ledger's transfer <c>Code</c>). Stored; never renumber.</summary>
public static class TransferCodes
{
    public const ushort TopUp = 1;
    public const ushort Withdrawal = 2;
    public const ushort PeerTransfer = 3;
    public const ushort MerchantPayment = 4;
    public const ushort PlatformFee = 5;
    public const ushort Refund = 6;
    public const ushort RoyaltyShare = 7;
    public const ushort RoyaltyFreeze = 8;

    /// <summary>Allowance granted to a limit account (one per account and tier step). Not money: never on a wallet.</summary>
    public const ushort LimitGrant = 9;

    /// <summary>Allowance a counted payment uses, in the payment's chain. Not money: never on a wallet.</summary>
    public const ushort LimitUsage = 10;

    /// <summary>A court-ordered amount hold: a pending transfer from a wallet to the judicial-hold account (voided on release, posted on deduction).</summary>
    public const ushort JudicialHold = 11;

    /// <summary>A deducted hold passed on from the judicial-hold account to its payee (a court's remittance account or a channel).</summary>
    public const ushort JudicialDeduction = 12;

    /// <summary>A campaign's budget moved into its budget account (from the platform's marketing expense or a merchant's settlement).</summary>
    public const ushort CampaignFunding = 13;

    /// <summary>What a stopped or ended campaign had left, returned from its budget account to where it came from.</summary>
    public const ushort CampaignReturn = 14;

    /// <summary>A red packet's whole amount, from the sender's wallet to the packet's escrow, at creation (numbered from 20, as its account).</summary>
    public const ushort RedPacket = 20;

    /// <summary>One claimed share, from the packet's escrow to the claimer's wallet.</summary>
    public const ushort RedPacketClaim = 21;

    /// <summary>What no one claimed, from the packet's escrow back to the sender's wallet at expiry.</summary>
    public const ushort RedPacketRefund = 22;

    // Loyalty points (PTS) take codes 30..39.

    /// <summary>Points earned by a payment: issuance → the buyer's points account (id derived from the trade).</summary>
    public const ushort PointsEarn = 30;

    /// <summary>Earned points taken back after a refund: the buyer's points account → issuance.</summary>
    public const ushort PointsClawback = 31;

    /// <summary>What remained of an earning lot at its expiry: the user's points account → the expired-points account.</summary>
    public const ushort PointsExpiry = 32;

    /// <summary>Points redeemed at payment: the user's points account → the redeemed-points account (the payment integration).</summary>
    public const ushort PointsRedemption = 33;

    /// <summary>The CNY side of points redeemed at payment: the platform's points budget → the merchant's settlement, in the payment's chain.</summary>
    public const ushort PointsDiscount = 34;

    /// <summary>The points discount's share of a refund: the merchant's settlement → the platform's points budget.</summary>
    public const ushort PointsDiscountReturn = 35;

    /// <summary>Redeemed points a refund gives back: the redeemed-points account → the user's points account (a new lot).</summary>
    public const ushort PointsRedemptionReturn = 36;

    // Coupons applied at payment take codes 40..44.

    /// <summary>A coupon's discount, from the campaign's budget account to the merchant's settlement, in the payment's chain.</summary>
    public const ushort CouponDiscount = 40;

    /// <summary>The budget's share of a refund (the discount in proportion), from the merchant's settlement back to the budget.</summary>
    public const ushort CouponDiscountReturn = 41;

    // Cashback takes codes 50..54.

    /// <summary>Cashback: the campaign's budget → the buyer's wallet, pending until it settles (or posted at once).</summary>
    public const ushort CashbackCredit = 50;

    /// <summary>Posted cashback taken back from a refund: the merchant's settlement → the campaign's budget, in the refund's chain.</summary>
    public const ushort CashbackClawback = 51;

    /// <summary>A first-payment discount, from the first_payment campaign's budget account to the merchant's settlement, in the payment's chain.</summary>
    public const ushort FirstPaymentDiscount = 42;

    /// <summary>The first-payment budget's share of a refund, from the merchant's settlement back to that budget.</summary>
    public const ushort FirstPaymentDiscountReturn = 43;

    /// <summary>The history's name for a kind, as used in <c>type</c> filters.</summary>
    public static string Name(ushort code) => code switch
    {
        TopUp => "topup",
        Withdrawal => "withdrawal",
        PeerTransfer => "transfer",
        MerchantPayment => "payment",
        PlatformFee => "fee",
        Refund => "refund",
        RoyaltyShare => "royalty",
        RoyaltyFreeze => "royalty_freeze",
        LimitGrant => "limit_grant",
        LimitUsage => "limit_usage",
        JudicialHold => "judicial_hold",
        JudicialDeduction => "judicial_deduction",
        CampaignFunding => "campaign_funding",
        CampaignReturn => "campaign_return",
        RedPacket => "red_packet",
        RedPacketClaim => "red_packet_claim",
        RedPacketRefund => "red_packet_refund",
        PointsEarn => "points_earn",
        PointsClawback => "points_clawback",
        PointsExpiry => "points_expiry",
        PointsRedemption => "points_redemption",
        PointsDiscount => "points_discount",
        PointsDiscountReturn => "points_discount_return",
        PointsRedemptionReturn => "points_redemption_return",
        CouponDiscount => "coupon_discount",
        CouponDiscountReturn => "coupon_discount_return",
        CashbackCredit => "cashback",
        CashbackClawback => "cashback_clawback",
        FirstPaymentDiscount => "first_payment_discount",
        FirstPaymentDiscountReturn => "first_payment_discount_return",
        _ => "other",
    };

    public static bool TryParse(string name, out ushort code)
    {
        code = name switch
        {
            "topup" => TopUp,
            "withdrawal" => Withdrawal,
            "transfer" => PeerTransfer,
            "payment" => MerchantPayment,
            "fee" => PlatformFee,
            "refund" => Refund,
            "royalty" => RoyaltyShare,
            "red_packet" => RedPacket,
            "red_packet_claim" => RedPacketClaim,
            "red_packet_refund" => RedPacketRefund,
            "cashback" => CashbackCredit,
            _ => 0,
        };
        return code != 0;
    }
}

/// <summary>
/// The chart of accounts (shared/DESIGN.md). Account ids are derived from what they belong to, so any
/// process can name a wallet or a system account without a lookup.
/// </summary>
public static class ChartOfAccounts
{
    public static Account UserWallet(Guid userId, Currency currency)
    {
        // A pure function of (user, currency), so a remembered id is the same in every process and never goes stale; it saves a
        // SHA-256 per wallet named (a transfer names two per request). Bound: past WalletsRememberedMax the map is cleared.
        if (Wallets.TryGetValue((userId, currency), out var known)) return known;
        var made = new Account(new AccountId(StableId.From("account/user-wallet", $"{userId:N}/{currency.Code}")), currency,
            AccountCodes.UserWallet, AccountFlags.DebitsMustNotExceedCredits);
        if (Wallets.Count >= WalletsRememberedMax) Wallets.Clear();
        Wallets[(userId, currency)] = made;
        return made;
    }

    private const int WalletsRememberedMax = 200_000;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(Guid, Currency), Account> Wallets = new();

    public static Account MerchantSettlement(Guid merchantId, Currency currency) =>
        new(new AccountId(StableId.From("account/merchant-settlement", $"{merchantId:N}/{currency.Code}")), currency,
            AccountCodes.MerchantSettlement, AccountFlags.DebitsMustNotExceedCredits);

    /// <summary>Money held at a funding channel: debit-normal, so it has no floor.</summary>
    public static Account ChannelClearing(string channel, Currency currency) =>
        new(new AccountId(StableId.From("account/channel-clearing", $"{channel}/{currency.Code}")), currency,
            AccountCodes.ChannelClearing, AccountFlags.None);

    public static Account FeeRevenue(Currency currency) =>
        new(new AccountId(StableId.From("account/fee-revenue", currency.Code)), currency, AccountCodes.FeeRevenue, AccountFlags.None);

    /// <summary>
    /// The other side of profit-sharing holds: a merchant's frozen proceeds are a pending transfer from its
    /// settlement account to here, voided at settlement. Only ever holds pending credits.
    /// </summary>
    public static Account RoyaltyFreeze(Currency currency) =>
        new(new AccountId(StableId.From("account/royalty-freeze", currency.Code)), currency, AccountCodes.RoyaltyFreeze, AccountFlags.None);

    /// <summary>
    /// A user's spending allowance for one period, named by <paramref name="period"/> (e.g. <c>daily/2025-03-01</c>,
    /// <c>year/2025</c>, <c>total</c>). CNY-only by design (the PBOC caps are in yuan); it can never be overdrawn.
    /// </summary>
    public static Account SpendingLimit(Guid userId, string period) =>
        new(new AccountId(StableId.From("account/spending-limit", $"{userId:N}/{period}")), Currency.Cny,
            AccountCodes.SpendingLimit, AccountFlags.DebitsMustNotExceedCredits);

    /// <summary>
    /// Where court-ordered amount holds point: each hold is a pending transfer from a wallet to here that never times out.
    /// Credit-normal and floored: a deduction posts the hold here and passes the same amount on in one chain, so the
    /// account only ever carries live pending credits.
    /// </summary>
    public static Account JudicialHold(Currency currency) =>
        new(new AccountId(StableId.From("account/judicial-hold", currency.Code)), currency, AccountCodes.JudicialHold, AccountFlags.DebitsMustNotExceedCredits);

    /// <summary>
    /// Money deducted under the court order <paramref name="reference"/> and owed to the court until finance remits it
    /// (outside the wallet, by bank transfer): a liability per order, credit-normal, never negative.
    /// </summary>
    public static Account CourtRemittance(string reference, Currency currency) =>
        new(new AccountId(StableId.From("account/court-remittance", $"{reference}/{currency.Code}")), currency, AccountCodes.CourtRemittance,
            AccountFlags.DebitsMustNotExceedCredits);

    /// <summary>
    /// A marketing campaign's budget (<see cref="AccountCodes.MarketingBudget"/>): credited with the budget at creation,
    /// debited by what the campaign pays and by the return of its remainder. Credit-normal and floored, so no race,
    /// retry or refund can spend more than it holds.
    /// </summary>
    public static Account CampaignBudget(Guid campaignId, Currency currency) =>
        new(new AccountId(StableId.From("account/campaign-budget", $"{campaignId:N}/{currency.Code}")), currency, AccountCodes.MarketingBudget,
            AccountFlags.DebitsMustNotExceedCredits);

    /// <summary>The platform's marketing expense: debit-normal with no limit; its debit balance is what the platform has spent on marketing.</summary>
    public static Account MarketingExpense(Currency currency) =>
        new(new AccountId(StableId.From("account/marketing-expense", currency.Code)), currency, AccountCodes.MarketingExpense, AccountFlags.None);

    /// <summary>
    /// The platform's points budget: debit-normal with no limit, like <see cref="MarketingExpense"/>; its debit balance is what points
    /// redeemed at payment cost the platform (it pays the merchant the points discount), net of what refunds returned.
    /// </summary>
    public static Account PointsDiscountExpense(Currency currency) =>
        new(new AccountId(StableId.From("account/points-discount-expense", currency.Code)), currency, AccountCodes.PointsDiscountExpense, AccountFlags.None);

    /// <summary>
    /// The escrow of red packet <paramref name="packetId"/>: credit-normal and floored, so the ledger itself refuses paying out
    /// more than the packet holds whatever the races. No owner: the sender's freeze stops creating packets, not claims of one
    /// already sent.
    /// </summary>
    public static Account RedPacket(Guid packetId, Currency currency) =>
        new(new AccountId(StableId.From("account/red-packet", $"{packetId:N}/{currency.Code}")), currency, AccountCodes.RedPacket,
            AccountFlags.DebitsMustNotExceedCredits);

    /// <summary>A user's loyalty points (PTS). Credit-normal and floored: no clawback, expiry or redemption can take it below zero.</summary>
    public static Account UserPoints(Guid userId) =>
        new(new AccountId(StableId.From("account/user-points", $"{userId:N}")), Currency.Points, AccountCodes.UserPoints, AccountFlags.DebitsMustNotExceedCredits);

    /// <summary>The platform's points issuance: debit-normal with no limit (it issues what payments earn, takes back clawbacks).</summary>
    public static Account PointsIssuance() =>
        new(new AccountId(StableId.From("account/points-issuance", Currency.PointsCode)), Currency.Points, AccountCodes.PointsIssuance, AccountFlags.None);

    /// <summary>
    /// The sink of expired points: credit-normal and floored, so the ledger check holds issuance = Σ user points + expired +
    /// redeemed, and a bug that "un-expires" more than expired is refused by the ledger.
    /// </summary>
    public static Account PointsExpired() =>
        new(new AccountId(StableId.From("account/points-expired", Currency.PointsCode)), Currency.Points, AccountCodes.PointsExpired,
            AccountFlags.DebitsMustNotExceedCredits);

    /// <summary>The sink of points redeemed at payment (credit-normal, floored): used by the payment integration, next.</summary>
    public static Account PointsRedeemed() =>
        new(new AccountId(StableId.From("account/points-redeemed", Currency.PointsCode)), Currency.Points, AccountCodes.PointsRedeemed,
            AccountFlags.DebitsMustNotExceedCredits);

    /// <summary>The source of limit grants and the sink of limit usage.</summary>
    public static Account LimitControl() =>
        new(new AccountId(StableId.From("account/limit-control", Currency.Cny.Code)), Currency.Cny, AccountCodes.LimitControl, AccountFlags.None);

    /// <summary>
    /// The limit-control account of one payer: every usage transfer of theirs credits it, so payments of different people name
    /// no account in common and their batches can commit side by side (one shared account was a row every counted payment
    /// locked). Grants still come from <see cref="LimitControl()"/>: a grant's id is stable, and one applied before the split
    /// must keep matching the accounts it was applied with.
    /// </summary>
    public static Account LimitControl(Guid payer) =>
        new(new AccountId(StableId.From("account/limit-control", $"{payer:N}/{Currency.Cny.Code}")), Currency.Cny, AccountCodes.LimitControl,
            AccountFlags.None);
}
