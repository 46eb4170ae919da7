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

    /// <summary>
    /// <see cref="TakeNextAsync"/> for many people at once: <paramref name="counts"/> numbers each, taken in one statement on
    /// PostgreSQL (one per person on SQLite, in process). A person's numbers are <c>Seq - count + 1 .. Seq</c> of the row
    /// answered. The rows are locked in id order, so two batches touching the same people cannot deadlock on them.
    /// </summary>
    public static async Task<Dictionary<Guid, NotificationSettingsRow>> TakeManyAsync(DbConnection connection, DbTransaction tx, Storage.DatabaseEngine engine,
        IReadOnlyDictionary<Guid, int> counts, long nowUs, CancellationToken ct)
    {
        var users = counts.Keys.Order().ToArray();
        var taken = new Dictionary<Guid, NotificationSettingsRow>(users.Length);
        if (engine == Storage.DatabaseEngine.Postgres)
        {
            var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
                INSERT INTO notification_settings (user_id, last_seq, updated_at_us)
                SELECT u, n, @nowUs FROM unnest(@users::uuid[], @counts::bigint[]) WITH ORDINALITY AS t(u, n, o) ORDER BY o
                ON CONFLICT (user_id) DO UPDATE SET last_seq = notification_settings.last_seq + excluded.last_seq
                RETURNING user_id, {Columns}
                """, new { users, counts = users.Select(u => (long)counts[u]).ToArray(), nowUs }, tx, cancellationToken: ct));
            foreach (var row in rows) taken[row.user_id] = row.ToSettings();
            return taken;
        }
        foreach (var userId in users)
        {
            var row = await connection.QuerySingleAsync<Row>(new CommandDefinition($"""
                INSERT INTO notification_settings (user_id, last_seq, updated_at_us) VALUES (@userId, @count, @nowUs)
                ON CONFLICT (user_id) DO UPDATE SET last_seq = notification_settings.last_seq + excluded.last_seq
                RETURNING user_id, {Columns}
                """, new { userId, count = (long)counts[userId], nowUs }, tx, cancellationToken: ct));
            taken[userId] = row.ToSettings();
        }
        return taken;
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
        public Guid user_id { get; init; }
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
