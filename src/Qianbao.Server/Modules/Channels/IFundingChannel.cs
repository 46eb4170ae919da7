using Qianbao.Ledger;

namespace Qianbao.Server.Modules.Channels;

internal enum ChannelOrderKind : byte { Collect = 1, Payout = 2 }

/// <summary>What a funding channel knows of an order.</summary>
internal enum ChannelOrderStatus : byte
{
    /// <summary>The channel has no such order (never received, or lost): submit it again.</summary>
    Unknown = 0,
    Processing = 1,
    Succeeded = 2,
    Failed = 3,
}

/// <summary>
/// An order at a funding channel: collect money from the person's bank (top-up) or pay it out
/// (withdrawal). <see cref="Id"/> is the id of the ledger hold that backs it.
/// </summary>
internal sealed record ChannelOrder(Guid Id, ChannelOrderKind Kind, long AmountMinor, Currency Currency);

/// <summary>
/// A question to the bank behind a channel: does this card belong to this holder (name and resident ID)? Sent when a
/// person adds a card; <see cref="Id"/> identifies the question (for the connector's logs and idempotency).
/// </summary>
internal sealed record CardVerification(Guid Id, string CardNumber, string HolderName, string IdNumber);

/// <summary>What the bank said about a card.</summary>
internal enum CardVerificationResult : byte
{
    /// <summary>The card is the holder's.</summary>
    Matched = 1,

    /// <summary>The bank knows the card, and it is not this holder's (or no such card).</summary>
    Mismatch = 2,

    /// <summary>No usable answer (outage, timeout, a badly signed answer): nothing is known; ask again later.</summary>
    Unavailable = 3,
}

/// <summary>
/// A bank or payment channel. Real adapters and the sandbox implement the same contract: submission is
/// idempotent by order id; the outcome arrives later through <see cref="IChannelOutcomeSink"/>, and can be
/// asked for with <see cref="QueryAsync"/> when a callback may have been missed.
/// </summary>
internal interface IFundingChannel
{
    /// <summary>Short stable name; part of the channel clearing account's id.</summary>
    string Name { get; }

    Task SubmitAsync(ChannelOrder order, CancellationToken ct);

    Task<ChannelOrderStatus> QueryAsync(Guid orderId, CancellationToken ct);

    /// <summary>Asks the bank whether a card is the holder's (binding a card raises an account to class II).</summary>
    Task<CardVerificationResult> VerifyCardAsync(CardVerification verification, CancellationToken ct);
}

/// <summary>Receives channel outcomes (callbacks) and settles the ledger hold behind the order.</summary>
internal interface IChannelOutcomeSink
{
    /// <param name="channel">The name of the channel that reports the outcome.</param>
    Task OnOutcomeAsync(string channel, Guid orderId, bool succeeded, CancellationToken ct);
}
