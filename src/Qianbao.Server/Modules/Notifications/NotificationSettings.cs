using System.Data.Common;
using Dapper;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>A person's <c>notification_settings</c> row: preferences, quiet hours, time zone, locale and the inbox sequence.</summary>
internal sealed record NotificationSettingsRow(NotificationPreferences Preferences, string? Locale, long Seq);

internal static class NotificationSettings
{
    private const string Columns = "transaction_channels, marketing_channels, service_channels, quiet_enabled, quiet_start_min, quiet_end_min, time_zone, locale, last_seq";

    /// <summary>
    /// Creates the row with the defaults if missing and takes the next inbox number. The update locks the row until the
    /// caller commits, so one person's notifications are decided one at a time (caps hold) and numbered in commit order
    /// (a stream resuming after number n misses nothing).
    /// </summary>
    public static async Task<NotificationSettingsRow> TakeNextAsync(DbConnection connection, DbTransaction tx, Guid userId, long nowUs, CancellationToken ct)
    {
        var row = await connection.QuerySingleAsync<Row>(new CommandDefinition($"""
            INSERT INTO notification_settings (user_id, last_seq, updated_at_us) VALUES (@userId, 1, @nowUs)
            ON CONFLICT (user_id) DO UPDATE SET last_seq = notification_settings.last_seq + 1
            RETURNING {Columns}
            """, new { userId, nowUs }, tx, cancellationToken: ct));
        return row.ToSettings();
    }

    /// <summary>The person's settings, or the defaults when they never changed any (nothing is written).</summary>
    public static async Task<NotificationSettingsRow> ReadAsync(DbConnection connection, DbTransaction? tx, Guid userId, CancellationToken ct)
    {
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM notification_settings WHERE user_id = @userId", new { userId }, tx, cancellationToken: ct));
        return row?.ToSettings() ?? new NotificationSettingsRow(NotificationPreferences.Default, null, 0);
    }

    /// <summary>Writes the whole preferences document (the row is created when missing; the sequence is kept).</summary>
    public static Task WriteAsync(DbConnection connection, DbTransaction tx, Guid userId, NotificationPreferences p, string? locale, long nowUs, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO notification_settings (user_id, transaction_channels, marketing_channels, service_channels, quiet_enabled, quiet_start_min,
                                               quiet_end_min, time_zone, locale, last_seq, updated_at_us)
            VALUES (@userId, @t, @m, @s, @qe, @qs, @qend, @tz, @locale, 0, @nowUs)
            ON CONFLICT (user_id) DO UPDATE SET transaction_channels = excluded.transaction_channels, marketing_channels = excluded.marketing_channels,
                service_channels = excluded.service_channels, quiet_enabled = excluded.quiet_enabled, quiet_start_min = excluded.quiet_start_min,
                quiet_end_min = excluded.quiet_end_min, time_zone = excluded.time_zone, locale = excluded.locale, updated_at_us = excluded.updated_at_us
            """, new
        {
            userId, t = (short)p.TransactionChannels, m = (short)p.MarketingChannels, s = (short)p.ServiceChannels, qe = (short)(p.Quiet.Enabled ? 1 : 0),
            qs = p.Quiet.StartMin, qend = p.Quiet.EndMin, tz = p.TimeZone, locale, nowUs,
        }, tx, cancellationToken: ct));

    private sealed class Row
    {
        public int transaction_channels { get; init; }
        public int marketing_channels { get; init; }
        public int service_channels { get; init; }
        public int quiet_enabled { get; init; }
        public int quiet_start_min { get; init; }
        public int quiet_end_min { get; init; }
        public string time_zone { get; init; } = NotificationPreferences.DefaultTimeZone;
        public string? locale { get; init; }
        public long last_seq { get; init; }

        public NotificationSettingsRow ToSettings() => new(
            new NotificationPreferences(transaction_channels, marketing_channels, service_channels,
                new QuietHours(quiet_enabled != 0, quiet_start_min, quiet_end_min), time_zone), locale, last_seq);
    }
}
