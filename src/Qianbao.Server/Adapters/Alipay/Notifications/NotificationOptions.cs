using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Adapters.Alipay.Notifications;

/// <summary>
/// Settings of <see cref="NotificationDispatcher"/> (configuration section <c>Qianbao:Gateway</c>, shared with other
/// gateway settings; only the <c>Notify*</c> keys are read here). A bad value stops the start (see <see cref="OptionsRules"/>),
/// because a dispatcher that retries forever or never would be worse than one that does not start.
/// </summary>
public sealed class NotificationOptions : IOptionsRules
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
    [Range(100, 120_000)]
    public int NotifyTimeoutMs { get; set; } = 10_000;

    /// <summary>Pause between polls of the outbox when nothing nudges the dispatcher, in milliseconds (10..600000).</summary>
    [Range(10, 600_000)]
    public int NotifyPollIntervalMs { get; set; } = 1_000;

    /// <summary>Most deliveries attempted per pass (1..1000).</summary>
    [Range(1, 1_000)]
    public int NotifyBatchMax { get; set; } = 50;

    /// <summary>
    /// Whether notify URLs may point at private, loopback or link-local addresses. Unset means: true in sandbox mode,
    /// false in production mode; the host fills it in from <c>Qianbao:Mode</c> (it stays null only where no host
    /// does, e.g. <see cref="Load"/>), and production mode refuses to start with it set to true.
    /// </summary>
    public bool? AllowPrivateNotifyUrls { get; set; }

    /// <summary>Binds <see cref="SectionName"/> of <paramref name="configuration"/> and validates it.</summary>
    public static NotificationOptions Load(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(SectionName).Get<NotificationOptions>() ?? new NotificationOptions();
        options.Validate();
        return options;
    }

    /// <summary>Throws <see cref="ConfigurationRefusedException"/> (an <see cref="InvalidOperationException"/>) naming each offending key.</summary>
    public void Validate() => OptionsRules.ThrowIfInvalid(this, SectionName);

    /// <summary>The parsed <see cref="NotifyRetrySchedule"/>; throws <see cref="InvalidOperationException"/> when it is malformed.</summary>
    public IReadOnlyList<TimeSpan> ParseRetrySchedule() =>
        TryParseRetrySchedule(out var delays, out var problem)
            ? delays
            : throw new ConfigurationRefusedException([$"{SectionName}:{nameof(NotifyRetrySchedule)} {problem}"]);

    IEnumerable<(string Property, string Problem)> IOptionsRules.Problems()
    {
        if (!TryParseRetrySchedule(out _, out var problem)) yield return (nameof(NotifyRetrySchedule), problem);
    }

    private bool TryParseRetrySchedule(out IReadOnlyList<TimeSpan> delays, out string problem)
    {
        delays = [];
        problem = "";
        if (string.IsNullOrWhiteSpace(NotifyRetrySchedule))
        {
            problem = $"must list 1..{RetryScheduleCountMax} delays such as \"00:04:00,00:10:00\" (was empty)";
            return false;
        }
        var parts = NotifyRetrySchedule.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length > RetryScheduleCountMax)
        {
            problem = $"must list at most {RetryScheduleCountMax} delays (was {parts.Length})";
            return false;
        }
        var parsed = new List<TimeSpan>(parts.Length);
        foreach (var part in parts)
        {
            if (!TimeSpan.TryParseExact(part, "c", CultureInfo.InvariantCulture, out var delay))
            {
                problem = $"must be TimeSpans of the form [d.]hh:mm:ss[.fffffff] (was \"{part}\")";
                return false;
            }
            if (delay <= TimeSpan.Zero || delay > RetryDelayMax)
            {
                problem = $"delays must be above zero and at most {RetryDelayMax.TotalDays:0} days (was \"{part}\")";
                return false;
            }
            parsed.Add(delay);
        }
        delays = parsed;
        return true;
    }
}
