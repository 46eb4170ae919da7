using Qianbao.Ledger;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Channels;

/// <summary>
/// Every configured funding channel, and which one is the default (<c>Qianbao:Channels:Default</c>) that new top-ups,
/// withdrawals and payouts use. Older orders keep their channel: a hold names it through its clearing account, so
/// reconciliation and callbacks find the channel a hold was placed with even after the default changed.
/// </summary>
internal sealed class FundingChannels : IDisposable
{
    private readonly Dictionary<string, IFundingChannel> byName;

    internal FundingChannels(ChannelsOptions options, IServiceProvider services)
    {
        byName = new Dictionary<string, IFundingChannel>(StringComparer.Ordinal);
        foreach (var (name, channel) in options.Channels)
        {
            byName[name] = channel.Kind switch
            {
                ChannelKind.Sandbox when name == ChannelsOptions.SandboxName => services.GetRequiredService<SandboxBankChannel>(),
                ChannelKind.Sandbox => new SandboxBankChannel(services.GetRequiredService<SandboxOptions>(), services.GetRequiredService<TimeProvider>(),
                    services, services.GetRequiredService<ILogger<SandboxBankChannel>>()) { Name = name },
                ChannelKind.Http => ActivatorUtilities.CreateInstance<HttpFundingChannel>(services, channel),
                _ => throw new InvariantViolationException($"unknown channel kind {channel.Kind}"),
            };
        }

        Default = byName[options.Default];
    }

    /// <summary>Releases the HTTP connections of http channels (the container disposes this singleton at shutdown).</summary>
    public void Dispose()
    {
        foreach (var channel in byName.Values.OfType<HttpFundingChannel>()) channel.Dispose();
    }

    /// <summary>The channel new orders go to.</summary>
    public IFundingChannel Default { get; }

    public IReadOnlyCollection<IFundingChannel> All => byName.Values;

    public IFundingChannel? Find(string name) => byName.GetValueOrDefault(name);

    /// <summary>The channel whose clearing account is the channel side of a hold (of <paramref name="code"/>), or null if no configured one is.</summary>
    public IFundingChannel? ForHold(AccountId debit, AccountId credit, ushort code, Currency currency)
    {
        var clearing = code switch
        {
            TransferCodes.TopUp => debit,
            TransferCodes.Withdrawal => credit,
            _ => default,
        };
        if (clearing.IsZero) return null;
        foreach (var channel in byName.Values)
            if (ChartOfAccounts.ChannelClearing(channel.Name, currency).Id == clearing) return channel;
        return null;
    }
}
