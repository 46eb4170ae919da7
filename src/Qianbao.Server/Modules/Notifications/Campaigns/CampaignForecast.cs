using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>
/// What start answers as <c>scheduled</c> before anything is sent: two set reads (the members' settings, their marketing
/// messages of the last 9 days) and <see cref="NotificationRules.Decide"/> in memory for each non-holdout member, so the
/// forecast and the send apply one definition of consent, quiet hours and caps. SMS and e-mail count as reachable here
/// (the contact check is the send's); the exact count replaces it on the campaign when the send ends.
/// </summary>
internal static class CampaignForecast
{
    public static async Task<int> ScheduledAsync(Db db, Guid campaignId, IReadOnlySet<NotificationChannel> channels, MarketingCaps caps, long nowUs,
        CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var id = db.Engine == DatabaseEngine.Postgres ? (object)campaignId : campaignId.ToString();
        var settings = (await connection.QueryAsync<SettingsRow>(new CommandDefinition("""
            SELECT m.user_id AS UserId, s.marketing_channels AS MarketingChannels, s.quiet_enabled AS QuietEnabled, s.quiet_start_min AS QuietStartMin,
                   s.quiet_end_min AS QuietEndMin, s.time_zone AS TimeZone
            FROM messaging_campaign_members m LEFT JOIN notification_settings s ON s.user_id = m.user_id
            WHERE m.campaign_id = @id AND m.variant IS NOT NULL
            """, new { id }, commandTimeout: 0, cancellationToken: ct))).AsList();
        var since = nowUs - (long)TimeSpan.FromDays(9).TotalMicroseconds;
        var marketing = (await connection.QueryAsync<(Guid UserId, long At)>(new CommandDefinition($"""
            SELECT n.user_id, n.visible_at_us FROM messaging_campaign_members m
            JOIN notifications n ON n.user_id = m.user_id AND n.category = {(short)NotificationCategory.Marketing}
                AND n.status IN ({(short)NotificationStatus.Inbox}, {(short)NotificationStatus.NotInInbox}) AND n.visible_at_us > @since
            WHERE m.campaign_id = @id AND m.variant IS NOT NULL
            """, new { id, since }, commandTimeout: 0, cancellationToken: ct)))
            .ToLookup(r => r.UserId, r => r.At);

        var scheduled = 0;
        var available = channels.ToHashSet();
        foreach (var s in settings)
        {
            var preferences = s.MarketingChannels is null ? NotificationPreferences.Default
                : new NotificationPreferences(1, s.MarketingChannels.Value, 1, new QuietHours(s.QuietEnabled != 0, s.QuietStartMin ?? 0, s.QuietEndMin ?? 0),
                    s.TimeZone ?? NotificationPreferences.DefaultTimeZone);
            var plan = NotificationRules.Decide(new NotificationContext(NotificationCategory.Marketing, preferences, nowUs, marketing[s.UserId].ToList(),
                caps, available));
            if (plan.Status is NotificationStatus.Inbox or NotificationStatus.NotInInbox) scheduled++;
        }
        return scheduled;
    }

    private sealed class SettingsRow
    {
        public Guid UserId { get; init; }
        public int? MarketingChannels { get; init; }
        public int QuietEnabled { get; init; }
        public int? QuietStartMin { get; init; }
        public int? QuietEndMin { get; init; }
        public string? TimeZone { get; init; }
    }
}

/// <summary>Wakes the <see cref="CampaignScheduler"/> at once (a campaign was started) instead of at its next interval.</summary>
internal sealed class CampaignWakeUp
{
    private readonly SemaphoreSlim signal = new(0, 1);

    public void Wake()
    {
        try { signal.Release(); }
        catch (SemaphoreFullException) { /* already pending */ }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => signal.WaitAsync(timeout, ct);
}
