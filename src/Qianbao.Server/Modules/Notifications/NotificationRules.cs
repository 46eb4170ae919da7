namespace Qianbao.Server.Modules.Notifications;

/// <summary>Daily quiet hours in the person's time zone, minutes after local midnight; start after end spans midnight.</summary>
internal readonly record struct QuietHours(bool Enabled, int StartMin, int EndMin)
{
    public static readonly QuietHours Default = new(true, 22 * 60, 8 * 60);
}

/// <summary>The channels a person has on per category (bit 1 &lt;&lt; channel), their quiet hours and time zone.</summary>
internal readonly record struct NotificationPreferences(int TransactionChannels, int MarketingChannels, int ServiceChannels, QuietHours Quiet, string TimeZone)
{
    public const int AllChannels = 0b111;
    public const string DefaultTimeZone = "Asia/Shanghai";

    /// <summary>Before a person changes anything: transaction and service in the app, marketing nowhere (no consent yet).</summary>
    public static readonly NotificationPreferences Default = new(1, 0, 1, QuietHours.Default, DefaultTimeZone);

    /// <summary>Security is always on every channel: the person cannot turn it off.</summary>
    public int ChannelsOf(NotificationCategory category) => category switch
    {
        NotificationCategory.Security => AllChannels,
        NotificationCategory.Transaction => TransactionChannels,
        NotificationCategory.Marketing => MarketingChannels,
        NotificationCategory.Service => ServiceChannels,
        _ => 0,
    };

    public static bool Has(int channels, NotificationChannel channel) => (channels & (1 << (int)channel)) != 0;
}

/// <summary>The marketing frequency caps: per calendar day in the person's time zone, and per rolling 7 days.</summary>
internal readonly record struct MarketingCaps(int PerDayMax, int PerWeekMax);

/// <summary>Everything the decision needs, read beforehand: no database in here.</summary>
/// <param name="MarketingDeliveredAtUs">When this person's earlier marketing messages were (or, held, will be) delivered.</param>
/// <param name="Available">The channels that can carry this message now (a queue is registered, the person has a phone).</param>
internal sealed record NotificationContext(
    NotificationCategory Category,
    NotificationPreferences Preferences,
    long NowUs,
    IReadOnlyList<long> MarketingDeliveredAtUs,
    MarketingCaps Caps,
    IReadOnlySet<NotificationChannel> Available);

/// <summary>The decision: the notification's status, when it is delivered, and each channel's part.</summary>
internal sealed record NotificationPlan(NotificationStatus Status, long DueAtUs, IReadOnlyDictionary<NotificationChannel, DeliveryDecision> Channels)
{
    public bool Queues(NotificationChannel channel) =>
        Channels.TryGetValue(channel, out var d) && d is DeliveryDecision.Now or DeliveryDecision.Held;
}

/// <summary>
/// Decides per channel from preferences, quiet hours and caps: a pure function, so every rule is unit-tested without a
/// database. Security and transaction messages are never held nor capped; marketing and service messages due inside quiet
/// hours are held until they end; a marketing message counts against the caps on the day it is delivered.
/// </summary>
internal static class NotificationRules
{
    public const long MicrosPerMinute = 60_000_000;
    public static readonly TimeSpan CapWindow = TimeSpan.FromDays(7);

    public static NotificationPlan Decide(NotificationContext c)
    {
        var wanted = c.Preferences.ChannelsOf(c.Category);
        var zone = Zone(c.Preferences.TimeZone);
        var holdable = c.Category is NotificationCategory.Marketing or NotificationCategory.Service;
        var due = holdable ? QuietHoursEnd(c.NowUs, c.Preferences.Quiet, zone) ?? c.NowUs : c.NowUs;

        var channels = new Dictionary<NotificationChannel, DeliveryDecision>();
        foreach (var channel in Enum.GetValues<NotificationChannel>())
        {
            if (!NotificationPreferences.Has(wanted, channel)) continue;
            channels[channel] = !c.Available.Contains(channel) ? DeliveryDecision.Unavailable
                : due > c.NowUs ? DeliveryDecision.Held : DeliveryDecision.Now;
        }
        var any = channels.Values.Any(d => d is DeliveryDecision.Now or DeliveryDecision.Held);
        if (!any) return new NotificationPlan(NotificationStatus.Suppressed, due, channels);

        if (c.Category == NotificationCategory.Marketing && OverCap(due, c.MarketingDeliveredAtUs, c.Caps, zone))
        {
            foreach (var channel in channels.Keys.ToList())
                if (channels[channel] is DeliveryDecision.Now or DeliveryDecision.Held) channels[channel] = DeliveryDecision.Capped;
            return new NotificationPlan(NotificationStatus.Capped, due, channels);
        }
        var inInbox = channels.TryGetValue(NotificationChannel.InApp, out var inApp) && inApp is DeliveryDecision.Now or DeliveryDecision.Held;
        return new NotificationPlan(inInbox ? NotificationStatus.Inbox : NotificationStatus.NotInInbox, due, channels);
    }

    /// <summary>True when one more message delivered at <paramref name="dueUs"/> would exceed a cap.</summary>
    public static bool OverCap(long dueUs, IReadOnlyList<long> deliveredAtUs, MarketingCaps caps, TimeZoneInfo zone)
    {
        var day = LocalDate(dueUs, zone);
        var weekStart = dueUs - (long)CapWindow.TotalMicroseconds;
        var sameDay = 0;
        var inWeek = 0;
        foreach (var at in deliveredAtUs)
        {
            if (LocalDate(at, zone) == day) sameDay++;
            if (at > weekStart && at <= dueUs) inWeek++;
        }
        return sameDay >= caps.PerDayMax || inWeek >= caps.PerWeekMax;
    }

    /// <summary>When the quiet hours around <paramref name="nowUs"/> end, or null when now is not inside them.</summary>
    public static long? QuietHoursEnd(long nowUs, QuietHours quiet, TimeZoneInfo zone)
    {
        if (!quiet.Enabled || quiet.StartMin == quiet.EndMin) return null;
        var local = TimeZoneInfo.ConvertTime(Hosting.TimeProviderExtensions.FromUnixMicroseconds(nowUs), zone);
        var minute = local.Hour * 60 + local.Minute;
        var inside = quiet.StartMin < quiet.EndMin
            ? minute >= quiet.StartMin && minute < quiet.EndMin
            : minute >= quiet.StartMin || minute < quiet.EndMin;
        if (!inside) return null;
        var endDate = minute < quiet.EndMin ? local.Date : local.Date.AddDays(1);
        var endLocal = DateTime.SpecifyKind(endDate.AddMinutes(quiet.EndMin), DateTimeKind.Unspecified);
        // A clock moved forward at that hour (daylight saving) has no such local time: the first minute after the gap.
        while (zone.IsInvalidTime(endLocal)) endLocal = endLocal.AddMinutes(1);
        return Hosting.TimeProviderExtensions.ToUnixMicroseconds(new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(endLocal, zone), TimeSpan.Zero));
    }

    public static DateOnly LocalDate(long atUs, TimeZoneInfo zone) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(Hosting.TimeProviderExtensions.FromUnixMicroseconds(atUs), zone).DateTime);

    /// <summary>The IANA zone; an id this machine does not know falls back to China time (validated when saved).</summary>
    public static TimeZoneInfo Zone(string id) =>
        TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone
        : TimeZoneInfo.TryFindSystemTimeZoneById(NotificationPreferences.DefaultTimeZone, out var china) ? china
        : TimeZoneInfo.CreateCustomTimeZone("China", TimeSpan.FromHours(8), "China", "China");
}
