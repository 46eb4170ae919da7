using System.ComponentModel.DataAnnotations;

namespace Qianbao.Server.Money.Events;

/// <summary>
/// Settings of the domain-event outbox and its subscribers (configuration section <c>Qianbao:Events</c>).
/// Bound and checked at start with every other section (<see cref="Hosting.OptionsCatalog"/>): a value out of its
/// range stops the server with one line naming the key.
/// </summary>
public sealed class EventOptions
{
    public const string SectionName = "Qianbao:Events";

    /// <summary>Days an event is kept after it occurred, delivered or not (1..3650). A subscriber added later replays what is kept.</summary>
    [Range(1, 3_650)]
    public int RetentionDays { get; set; } = 30;

    /// <summary>Pause between polls when nothing nudges a subscriber, in milliseconds (10..600000).</summary>
    [Range(10, 600_000)]
    public int PollIntervalMs { get; set; } = 1_000;

    /// <summary>Most events handed to a subscriber at once (1..10000).</summary>
    [Range(1, 10_000)]
    public int BatchSizeMax { get; set; } = 100;

    /// <summary>
    /// How long a process holds a subscriber after its last renewal, in milliseconds (1000..600000). Another process
    /// takes the subscriber over when it lapses (its holder died); a batch still being handled then is cancelled.
    /// </summary>
    [Range(1_000, 600_000)]
    public int LeaseMs { get; set; } = 30_000;

    /// <summary>Longest pause before retrying a subscriber whose handler failed, in milliseconds (10..3600000); pauses double up to it.</summary>
    [Range(10, 3_600_000)]
    public int RetryDelayMaxMs { get; set; } = 60_000;

    /// <summary>Pause between retention purges, in milliseconds (1000..86400000).</summary>
    [Range(1_000, 86_400_000)]
    public int PurgeIntervalMs { get; set; } = 3_600_000;

    /// <summary>
    /// On PostgreSQL, wake every server process's subscribers with LISTEN/NOTIFY when events are appended, instead of
    /// only this process's (others then find the events at their next poll). The NOTIFY is sent after the commit, once
    /// per burst, never inside the money transaction.
    /// </summary>
    public bool ListenNotify { get; set; } = true;

    /// <summary>Every out-of-range setting, each naming its key (the same check the host runs at start); empty when all are valid.</summary>
    public IReadOnlyList<string> Problems() => Hosting.OptionsRules.Check(this, SectionName);
}
