using System.Threading.Channels;

namespace Qianbao.Server.Money.Events;

/// <summary>
/// Wakes subscribers when events were committed, so they need not wait for their next poll. Producers call
/// <see cref="Nudge"/> after committing a transaction that appended events; it is cheap, never blocks and may be
/// called any number of times. It wakes this process's subscribers at once and, on PostgreSQL with
/// <c>Qianbao:Events:ListenNotify</c>, asks <see cref="EventRunner"/> to send one NOTIFY for the burst so the other
/// server processes wake too. A lost nudge only costs latency: every subscriber also polls.
/// </summary>
public sealed class EventSignal
{
    private readonly Lock gate = new();
    private Channel<byte>[] waiters = [];

    /// <summary>Set by a nudge, cleared by whoever sends the NOTIFY; capacity one, so a burst is one NOTIFY.</summary>
    internal Channel<byte> RemoteRequests { get; } = NewFlag();

    /// <summary>Wakes local subscribers and, when enabled, the other server processes' subscribers.</summary>
    public void Nudge()
    {
        WakeLocal();
        RemoteRequests.Writer.TryWrite(0);
    }

    /// <summary>Wakes this process's subscribers only (a NOTIFY from another process arrived).</summary>
    internal void WakeLocal()
    {
        foreach (var waiter in Volatile.Read(ref waiters)) waiter.Writer.TryWrite(0);
    }

    /// <summary>A wake-up flag of its own for one subscriber loop: capacity one, extra writes dropped, so no wake-up is lost and none piles up.</summary>
    internal ChannelReader<byte> Register()
    {
        var flag = NewFlag();
        lock (gate) waiters = [.. waiters, flag];
        return flag.Reader;
    }

    private static Channel<byte> NewFlag() => Channel.CreateBounded<byte>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });
}
