using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Messaging;

/// <summary>
/// Delivers the text messages <see cref="SmsOutbox"/> queued, through the configured <see cref="ISmsProvider"/>, with the
/// claim, lease, retry and backoff of <see cref="OutboundSender"/>, paced to <see cref="SmsOptions.PerSecondMax"/>
/// messages per second (per process: see <see cref="SendPacer"/>).
/// </summary>
internal sealed class SmsSender(Db db, ISmsProvider provider, SmsOptions options, MessageSignal signal, TimeProvider clock, MessageRecipients recipients,
    ILogger<SmsSender> logger, IMarketingConsent? consent = null) : OutboundSender(db, options, signal, clock, logger, consent)
{
    private readonly SendPacer pacer = new(options.PerSecondMax);

    protected override MessageChannel Channel => MessageChannel.Sms;

    protected override int ClaimLimit(long nowUs) => pacer.Grant(nowUs, BatchMax);

    protected override void Claimed(long nowUs, int used, int granted) => pacer.Use(nowUs, used);

    protected override TimeSpan? PacingWait(long nowUs) => pacer.Exhausted(nowUs) ? pacer.UntilNextWindow(nowUs) : null;

    protected override Task<string?> SendAsync(OutboundRow row, CancellationToken ct)
    {
        var phone = recipients.Open(row.id, row.recipient, row.recipient_enc);
        return provider.SendAsync(new OutboundSms(row.id, phone, row.text, row.template, row.locale, row.attempts), ct);
    }
}

/// <summary>
/// The provider's per-second cap, kept by one sender: a fixed one-second window in which at most <c>perSecondMax</c>
/// messages are claimed. Per process (not shared through the database, which would cost a write per window on the hot
/// path): with several server processes, set the cap to the provider's limit divided by the number of processes.
/// </summary>
internal sealed class SendPacer(int perSecondMax)
{
    private const long WindowUs = 1_000_000;
    private long windowStartUs = long.MinValue;
    private int used;
    private readonly Lock gate = new();

    public int PerSecondMax => perSecondMax;

    /// <summary>How many of <paramref name="wanted"/> may be claimed at <paramref name="nowUs"/> (what is left of this second's cap).</summary>
    public int Grant(long nowUs, int wanted)
    {
        lock (gate) return Math.Max(0, Math.Min(wanted, perSecondMax - (Open(nowUs) ? used : 0)));
    }

    /// <summary>Counts <paramref name="count"/> messages claimed at <paramref name="nowUs"/>; the first claim after a window closed opens the next.</summary>
    public void Use(long nowUs, int count)
    {
        if (count <= 0) return;
        lock (gate)
        {
            if (!Open(nowUs)) (windowStartUs, used) = (nowUs, 0);
            used += count;
        }
    }

    /// <summary>True when this second's cap is spent.</summary>
    public bool Exhausted(long nowUs)
    {
        lock (gate) return Open(nowUs) && used >= perSecondMax;
    }

    /// <summary>The wait until the current window closes (at least 1 µs).</summary>
    public TimeSpan UntilNextWindow(long nowUs)
    {
        lock (gate) return TimeSpan.FromMicroseconds(Open(nowUs) ? Math.Max(1, windowStartUs + WindowUs - nowUs) : 1);
    }

    private bool Open(long nowUs) => windowStartUs != long.MinValue && nowUs >= windowStartUs && nowUs < windowStartUs + WindowUs;
}
