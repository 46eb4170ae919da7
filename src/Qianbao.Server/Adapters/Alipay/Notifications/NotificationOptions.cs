using System.Globalization;

namespace Qianbao.Server.Adapters.Alipay.Notifications;

/// <summary>
/// Settings of <see cref="NotificationDispatcher"/> (configuration section <c>Qianbao:Gateway</c>, shared with other
/// gateway settings; only the <c>Notify*</c> keys are read here). <see cref="Validate"/> throws at start on a bad
/// value, because a dispatcher that retries forever or never would be worse than one that does not start.
/// </summary>
public sealed class NotificationOptions
{
    public const string SectionName = "Qianbao:Gateway";

    /// <summary>Alipay's schedule: 4m, 10m, 10m, 1h, 2h, 6h, 15h, so 8 attempts in about 25 hours.</summary>
    public const string DefaultRetrySchedule = "00:04:00,00:10:00,00:10:00,01:00:00,02:00:00,06:00:00,15:00:00";

    /// <summary>Most delays in <see cref="NotifyRetrySchedule"/>; each delay is one more attempt.</summary>
    public const int RetryScheduleCountMax = 32;

    /// <summary>Longest single delay between attempts.</summary>
    public static readonly TimeSpan RetryDelayMax = TimeSpan.FromDays(7);

    /// <summary>
    /// The delays between successive attempts as a comma-separated list of invariant TimeSpans
    /// (<c>[d.]hh:mm:ss[.fffffff]</c>): after the n-th failed attempt the next is due after the n-th delay; after a
    /// failed attempt with no delay left the delivery is <c>failed</c>. 1..32 entries, each above zero and at most
    /// 7 days.
    /// </summary>
    public string NotifyRetrySchedule { get; set; } = DefaultRetrySchedule;

    /// <summary>Whole-exchange timeout of one attempt (connect, send, response), in milliseconds (100..120000).</summary>
    public int NotifyTimeoutMs { get; set; } = 10_000;

    /// <summary>Pause between polls of the outbox when nothing nudges the dispatcher, in milliseconds (10..600000).</summary>
    public int NotifyPollIntervalMs { get; set; } = 1_000;

    /// <summary>Most deliveries attempted per pass (1..1000).</summary>
    public int NotifyBatchMax { get; set; } = 50;

    /// <summary>Binds <see cref="SectionName"/> of <paramref name="configuration"/> and validates it.</summary>
    public static NotificationOptions Load(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(SectionName).Get<NotificationOptions>() ?? new NotificationOptions();
        options.Validate();
        return options;
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> naming the offending key when a setting is out of range.</summary>
    public void Validate()
    {
        _ = ParseRetrySchedule();
        if (NotifyTimeoutMs is < 100 or > 120_000)
            throw new InvalidOperationException($"{SectionName}:NotifyTimeoutMs must be 100..120000, not {NotifyTimeoutMs}.");
        if (NotifyPollIntervalMs is < 10 or > 600_000)
            throw new InvalidOperationException($"{SectionName}:NotifyPollIntervalMs must be 10..600000, not {NotifyPollIntervalMs}.");
        if (NotifyBatchMax is < 1 or > 1_000)
            throw new InvalidOperationException($"{SectionName}:NotifyBatchMax must be 1..1000, not {NotifyBatchMax}.");
    }

    /// <summary>The parsed <see cref="NotifyRetrySchedule"/>; throws <see cref="InvalidOperationException"/> when it is malformed.</summary>
    public IReadOnlyList<TimeSpan> ParseRetrySchedule()
    {
        var key = $"{SectionName}:NotifyRetrySchedule";
        if (string.IsNullOrWhiteSpace(NotifyRetrySchedule))
            throw new InvalidOperationException($"{key} must list 1..{RetryScheduleCountMax} delays such as \"00:04:00,00:10:00\".");
        var parts = NotifyRetrySchedule.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length > RetryScheduleCountMax)
            throw new InvalidOperationException($"{key} lists {parts.Length} delays; at most {RetryScheduleCountMax} are allowed.");
        var delays = new List<TimeSpan>(parts.Length);
        foreach (var part in parts)
        {
            if (!TimeSpan.TryParseExact(part, "c", CultureInfo.InvariantCulture, out var delay))
                throw new InvalidOperationException($"{key}: \"{part}\" is not a TimeSpan of the form [d.]hh:mm:ss[.fffffff].");
            if (delay <= TimeSpan.Zero || delay > RetryDelayMax)
                throw new InvalidOperationException($"{key}: \"{part}\" must be above zero and at most {RetryDelayMax.TotalDays:0} days.");
            delays.Add(delay);
        }

        return delays;
    }
}
