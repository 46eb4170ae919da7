using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;

namespace Qianbao.Server.Modules.Channels;

/// <summary>Settings of the built-in sandbox bank (configuration section <c>Qianbao:Sandbox</c>).</summary>
internal sealed class SandboxOptions
{
    /// <summary>How long the sandbox bank takes to confirm an order, in milliseconds (0..600000).</summary>
    [Range(0, 600_000)]
    public int ConfirmDelayMs { get; set; } = 200;

    /// <summary>
    /// Orders of exactly this many minor units are declined (6.66 CNY by default), so failure paths can be tried;
    /// 0..10000000000 (the largest amount), and 0 declines nothing because no order is of 0.
    /// </summary>
    [Range(typeof(long), "0", "10000000000")]
    public long DeclineAmountMinor { get; set; } = 666;
}

/// <summary>
/// A simulated bank, standing in for a real channel behind <see cref="IFundingChannel"/>. It confirms every
/// order after <see cref="SandboxOptions.ConfirmDelayMs"/> by calling back, except orders of
/// <see cref="SandboxOptions.DeclineAmountMinor"/>, which it declines. Like a real bank's, its memory is its
/// own: after our restart it no longer knows orders we sent before, and reconciliation submits them again.
/// </summary>
internal sealed class SandboxBankChannel(SandboxOptions options, TimeProvider clock, IServiceProvider services, ILogger<SandboxBankChannel> logger)
    : IFundingChannel
{
    private const int OrdersRememberedMax = 1_000_000;
    private readonly ConcurrentDictionary<Guid, ChannelOrderStatus> orders = new();

    /// <summary>"sandbox" for the built-in bank; other sandbox-kind channels (<c>Qianbao:Channels:&lt;name&gt;:Kind=sandbox</c>) carry their own.</summary>
    public string Name { get; init; } = "sandbox";

    public Task SubmitAsync(ChannelOrder order, CancellationToken ct)
    {
        if (orders.Count >= OrdersRememberedMax) orders.Clear();
        if (!orders.TryAdd(order.Id, ChannelOrderStatus.Processing)) return Task.CompletedTask; // idempotent
        var succeeded = order.AmountMinor != options.DeclineAmountMinor;
        _ = CompleteLaterAsync(order.Id, succeeded);
        return Task.CompletedTask;
    }

    public Task<ChannelOrderStatus> QueryAsync(Guid orderId, CancellationToken ct) =>
        Task.FromResult(orders.TryGetValue(orderId, out var status) ? status : ChannelOrderStatus.Unknown);

    /// <summary>
    /// The sandbox bank knows every Luhn-valid number as a card of whoever presents it: its holder is the identity the
    /// wallet verified (which the caller has checked the holder against), so it confirms any such card.
    /// </summary>
    public Task<CardVerificationResult> VerifyCardAsync(CardVerification verification, CancellationToken ct) =>
        Task.FromResult(Identity.BankCards.CardNumber.IsLuhnValid(verification.CardNumber) ? CardVerificationResult.Matched : CardVerificationResult.Mismatch);

    private async Task CompleteLaterAsync(Guid orderId, bool succeeded)
    {
        try
        {
            if (options.ConfirmDelayMs > 0) await Task.Delay(TimeSpan.FromMilliseconds(options.ConfirmDelayMs), clock);
            orders[orderId] = succeeded ? ChannelOrderStatus.Succeeded : ChannelOrderStatus.Failed;
            await services.GetRequiredService<IChannelOutcomeSink>().OnOutcomeAsync(Name, orderId, succeeded, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // A lost callback is what reconciliation is for; the order stays queryable.
            logger.LogWarning(ex, "Sandbox callback for order {OrderId} failed", orderId);
        }
    }
}
