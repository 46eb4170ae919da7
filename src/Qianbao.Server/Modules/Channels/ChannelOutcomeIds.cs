using Qianbao.Ledger;

namespace Qianbao.Server.Modules.Channels;

/// <summary>
/// Ids of the ledger transfers a channel outcome produces, derived from the order id, so that a repeated callback,
/// a query racing a callback, or two server processes settling the same order apply it at most once.
/// </summary>
internal static class ChannelOutcomeIds
{
    /// <summary>The post or void of the order's hold.</summary>
    public static TransferId Settle(Guid orderId) => new(StableId.From("channel-outcome", orderId.ToString("N")));

    /// <summary>
    /// The booking of a success that arrived after the hold had lapsed locally (a hold created with a timeout before
    /// channel holds stopped having one): the same movement as the hold, posted directly, so the money moves once.
    /// </summary>
    public static TransferId LateSuccess(Guid orderId) => new(StableId.From("channel-late-success", orderId.ToString("N")));
}
