namespace Qianbao.Server.Money.Events;

// The domain events every module may produce and any subscriber may consume. Payloads are the records' properties
// in snake_case JSON; amounts are integer minor units with an ISO 4217 currency. Add properties freely (old
// subscribers ignore them); never rename or remove one, and never reuse a type name (see EventTypes): stored events
// outlive the code that wrote them. docs/events.md lists them.

/// <summary>Money moved from one user's wallet to another's (<c>transfer.completed</c>).</summary>
public sealed record TransferCompleted(Guid TransferId, Guid FromUserId, Guid ToUserId, long AmountMinor, string Currency) : DomainEvent
{
    public override string Stream => "transfer:" + TransferId.ToString("N");
}

/// <summary>A funding channel confirmed a top-up and the hold was posted to the wallet (<c>top_up.succeeded</c>).</summary>
public sealed record TopUpSucceeded(Guid TopUpId, Guid OwnerId, long AmountMinor, string Currency, string Channel) : DomainEvent
{
    public override string Stream => "top_up:" + TopUpId.ToString("N");
}

/// <summary>A top-up was declined or expired and its hold voided; no money moved (<c>top_up.failed</c>).</summary>
public sealed record TopUpFailed(Guid TopUpId, Guid OwnerId, long AmountMinor, string Currency, string Channel, string Reason) : DomainEvent
{
    public override string Stream => "top_up:" + TopUpId.ToString("N");
}

/// <summary>A channel paid out a withdrawal (a user's or a merchant's) and the hold was posted (<c>withdrawal.succeeded</c>).</summary>
public sealed record WithdrawalSucceeded(Guid WithdrawalId, Guid OwnerId, long AmountMinor, string Currency, string Channel) : DomainEvent
{
    public override string Stream => "withdrawal:" + WithdrawalId.ToString("N");
}

/// <summary>A withdrawal was declined or expired; its hold was voided and the money is back (<c>withdrawal.failed</c>).</summary>
public sealed record WithdrawalFailed(Guid WithdrawalId, Guid OwnerId, long AmountMinor, string Currency, string Channel, string Reason) : DomainEvent
{
    public override string Stream => "withdrawal:" + WithdrawalId.ToString("N");
}

/// <summary>A buyer paid a merchant's trade (<c>trade.paid</c>). <paramref name="FeeMinor"/> went to the platform;
/// <paramref name="DiscountMinor"/> is what coupons and first-payment discounts took off (campaign budgets paid it), <paramref name="PointsMinor"/>
/// what redeemed points took off (the platform's points budget paid it): the buyer paid <c>AmountMinor − DiscountMinor − PointsMinor</c>.</summary>
public sealed record TradePaid(string TradeNo, string AppId, string OutTradeNo, Guid MerchantId, Guid BuyerId, long AmountMinor, long FeeMinor,
    string Currency, long DiscountMinor = 0, long PointsMinor = 0) : DomainEvent
{
    public override string Stream => "trade:" + TradeNo;
}

/// <summary>A trade was closed unpaid, by the merchant or by its expiry (<c>trade.closed</c>).</summary>
public sealed record TradeClosed(string TradeNo, string AppId, string OutTradeNo, Guid MerchantId, long AmountMinor, string Currency) : DomainEvent
{
    public override string Stream => "trade:" + TradeNo;
}

/// <summary>
/// Part or all of a paid trade went back to the buyer (<c>trade.refunded</c>). <paramref name="RefundedTotalMinor"/>
/// is the trade's refunds so far, this one included.
/// </summary>
public sealed record TradeRefunded(string TradeNo, string AppId, string OutRequestNo, Guid MerchantId, Guid BuyerId, long AmountMinor,
    long RefundedTotalMinor, string Currency) : DomainEvent
{
    public override string Stream => "trade:" + TradeNo;
}

/// <summary>Profit sharing of a paid trade moved <paramref name="AmountMinor"/> to royalty receivers (<c>trade.settled</c>).</summary>
public sealed record TradeSettled(string TradeNo, string AppId, string OutRequestNo, string SettleNo, Guid MerchantId,
    IReadOnlyList<SettlementShare> Shares, long AmountMinor, string Currency) : DomainEvent
{
    public override string Stream => "trade:" + TradeNo;
}

/// <summary>One receiver's part of a <see cref="TradeSettled"/>.</summary>
public sealed record SettlementShare(Guid ReceiverMerchantId, long AmountMinor);

/// <summary>A person registered (<c>user.registered</c>). The phone number is masked: events never carry it in full.</summary>
public sealed record UserRegistered(Guid UserId, string PhoneMasked) : DomainEvent
{
    public override string Stream => "user:" + UserId.ToString("N");
}

/// <summary>
/// A person's real-name identity was verified (<c>identity.verified</c>): at once, or when an operator cleared a watchlist review.
/// Once per user (an identity is never replaced); the name and ID number are not in the event.
/// </summary>
public sealed record IdentityVerified(Guid UserId) : DomainEvent
{
    public override string Stream => "user:" + UserId.ToString("N");
}

/// <summary>An operator verified a merchant, which may now take payments (<c>merchant.verified</c>).</summary>
public sealed record MerchantVerified(Guid MerchantId) : DomainEvent
{
    public override string Stream => "merchant:" + MerchantId.ToString("N");
}

/// <summary>A user opened a complaint (<c>complaint.opened</c>), about a trade or a transfer of theirs or about nothing in particular.</summary>
public sealed record ComplaintOpened(Guid ComplaintId, Guid UserId, string Category, string? TradeNo, Guid? TransferId) : DomainEvent
{
    public override string Stream => "complaint:" + ComplaintId.ToString("N");
}

/// <summary>A support operator replied to a complaint (<c>complaint.replied</c>); the reply's text is read from the complaint.</summary>
public sealed record ComplaintReplied(Guid ComplaintId, Guid UserId, Guid ReplyId) : DomainEvent
{
    public override string Stream => "complaint:" + ComplaintId.ToString("N");
}

/// <summary>
/// A support operator resolved a complaint (<c>complaint.resolved</c>): <paramref name="Decision"/> is <c>refund</c> (then
/// <paramref name="RefundMinor"/> went back to the user, written with the refund itself) or <c>reject</c>.
/// </summary>
public sealed record ComplaintResolved(Guid ComplaintId, Guid UserId, string Decision, long? RefundMinor, string? Currency) : DomainEvent
{
    public override string Stream => "complaint:" + ComplaintId.ToString("N");
}

/// <summary>A user sent a red packet of <paramref name="Count"/> shares; the amount left their wallet for the packet's escrow (<c>red_packet.created</c>).</summary>
public sealed record RedPacketCreated(Guid PacketId, Guid SenderId, long AmountMinor, string Currency, int Count, string Split) : DomainEvent
{
    public override string Stream => "red_packet:" + PacketId.ToString("N");
}

/// <summary>A user claimed share <paramref name="Seq"/> of a red packet; <paramref name="AmountMinor"/> reached their wallet (<c>red_packet.claimed</c>).</summary>
public sealed record RedPacketClaimed(Guid PacketId, Guid SenderId, Guid ClaimerId, int Seq, long AmountMinor, string Currency) : DomainEvent
{
    public override string Stream => "red_packet:" + PacketId.ToString("N");
}

/// <summary>
/// A red packet expired with <paramref name="UnclaimedCount"/> shares unclaimed; <paramref name="RefundedMinor"/> went back to the
/// sender's wallet (<c>red_packet.expired</c>). A packet claimed in full never expires this way.
/// </summary>
public sealed record RedPacketExpired(Guid PacketId, Guid SenderId, long RefundedMinor, int UnclaimedCount, string Currency) : DomainEvent
{
    public override string Stream => "red_packet:" + PacketId.ToString("N");
}

/// <summary>A payment's cashback reached the buyer's wallet (posted): <see cref="AmountMinor"/> is what was posted.</summary>
public sealed record CashbackPosted(Guid CreditId, Guid UserId, string TradeNo, Guid CampaignId, long AmountMinor, string Currency) : DomainEvent
{
    public override string Stream => "cashback:" + CreditId.ToString("N");
}
