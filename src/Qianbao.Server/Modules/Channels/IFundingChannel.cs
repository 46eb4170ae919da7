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
}

/// <summary>Receives channel outcomes (callbacks) and settles the ledger hold behind the order.</summary>
internal interface IChannelOutcomeSink
{
    /// <param name="channel">The name of the channel that reports the outcome.</param>
    Task OnOutcomeAsync(string channel, Guid orderId, bool succeeded, CancellationToken ct);
}
