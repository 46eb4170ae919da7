using Dapper;

namespace Qianbao.Server.Storage;

/// <summary>The answer of one <see cref="RateCounters.HitAsync"/>: allowed, or refused until the window ends.</summary>
public readonly record struct RateDecision(bool Allowed, TimeSpan RetryAfter)
{
    public static RateDecision Allow => new(true, TimeSpan.Zero);
}

/// <summary>
/// Fixed-window counters in the database, shared by every server process: send limits for codes, lookups per
/// user, logins per address. One statement per hit (an upsert that returns the new count), so concurrent hits
/// never both slip under a limit. Windows that started over <see cref="Retention"/> ago are deleted by the hits
/// themselves, at most once per <see cref="PurgeInterval"/> per process, so the table stays as small as its live windows.
/// </summary>
public sealed class RateCounters(Db db, TimeProvider clock)
{
    /// <summary>Longer than the longest window any caller uses (a day), so no live window is ever purged.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(2);

    public static readonly TimeSpan PurgeInterval = TimeSpan.FromMinutes(10);

    private long lastPurgeUs;

    /// <summary>Counts one hit on <paramref name="key"/> in the current window of <paramref name="window"/>; refused once over <paramref name="limit"/>.</summary>
    /// <param name="key">At most 200 characters; say whose and what (<c>verify:+8613800138000:register</c>).</param>
    public async Task<RateDecision> HitAsync(string key, TimeSpan window, int limit, CancellationToken ct)
    {
        Qianbao.Ledger.Invariant.That(key.Length <= 200 && limit >= 1 && window > TimeSpan.Zero, "a rate counter has a short key, a positive limit and window");
        var nowUs = Hosting.TimeProviderExtensions.GetUnixMicroseconds(clock);
        var windowUs = (long)window.TotalMicroseconds;
        var start = nowUs - (nowUs % windowUs);
        await using var connection = await db.OpenAsync(ct);
        var count = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO rate_counters (key, window_start_us, count) VALUES (@key, @start, 1)
            ON CONFLICT (key, window_start_us) DO UPDATE SET count = rate_counters.count + 1
            RETURNING count
            """, new { key, start }, cancellationToken: ct));
        var last = Interlocked.Read(ref lastPurgeUs);
        if (nowUs - last > (long)PurgeInterval.TotalMicroseconds && Interlocked.CompareExchange(ref lastPurgeUs, nowUs, last) == last)
        {
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM rate_counters WHERE window_start_us < @beforeUs",
                new { beforeUs = nowUs - (long)Retention.TotalMicroseconds }, cancellationToken: ct));
        }
        return count <= limit ? RateDecision.Allow : new RateDecision(false, TimeSpan.FromMicroseconds(start + windowUs - nowUs));
    }

    /// <summary>How many hits <paramref name="key"/> has in the current window (for reads that must not count).</summary>
    public async Task<long> CountAsync(string key, TimeSpan window, CancellationToken ct)
    {
        var nowUs = Hosting.TimeProviderExtensions.GetUnixMicroseconds(clock);
        var windowUs = (long)window.TotalMicroseconds;
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT count FROM rate_counters WHERE key = @key AND window_start_us = @start",
            new { key, start = nowUs - (nowUs % windowUs) }, cancellationToken: ct)) ?? 0;
    }
}
