using System.Diagnostics;
using Npgsql;

namespace Qianbao.Server.Storage;

/// <summary>
/// Opens PostgreSQL connections that wait for a free server slot. PostgreSQL refuses a new session with 53300 when
/// max_connections (or a database or role limit) is reached, and with 57P03 while it starts or stops. Both say the
/// database is busy at that moment, never that the request is wrong: without waiting, a burst that meets the
/// connections of other processes on the same cluster (a second server, a batch job) answers correct requests 500.
/// The caller waits as it waits for a slot in our own pool: at most the connection string's Timeout.
/// </summary>
internal sealed class PostgresSlotWait(NpgsqlDataSource source, TimeSpan waitMax, ILogger? logger)
{
    public const int BackoffMsMin = 5;
    public const int BackoffMsMax = 200;

    /// <summary>One warning per second at most: a burst makes every waiting request see the same full database.</summary>
    private static readonly long WarnEveryTicks = Stopwatch.Frequency;

    private long lastWarnedTicks = -WarnEveryTicks;

    public NpgsqlDataSource Source => source;

    public async ValueTask<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var backoffMs = BackoffMsMin;
        while (true)
        {
            try
            {
                return await source.OpenConnectionAsync(ct);
            }
            catch (PostgresException e) when (IsNoFreeSlot(e) && Stopwatch.GetElapsedTime(started) < waitMax)
            {
                Warn(e);
                // Jitter: the waiters of one burst must not all come back at the same instant.
                await Task.Delay(TimeSpan.FromMilliseconds(backoffMs + Random.Shared.Next(backoffMs)), ct);
                backoffMs = Math.Min(backoffMs * 2, BackoffMsMax);
            }
        }
    }

    /// <summary>Too many connections (server, database or role limit), or the server is starting or stopping.</summary>
    public static bool IsNoFreeSlot(PostgresException e) =>
        e.SqlState is PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.CannotConnectNow;

    private void Warn(PostgresException e)
    {
        var now = Stopwatch.GetTimestamp();
        var last = Interlocked.Read(ref lastWarnedTicks);
        if (now - last < WarnEveryTicks || Interlocked.CompareExchange(ref lastWarnedTicks, now, last) != last) return;
        logger?.LogWarning("PostgreSQL has no free connection slot ({SqlState}: {Message}); requests wait for one, at most {WaitMs} ms",
            e.SqlState, e.MessageText, (long)waitMax.TotalMilliseconds);
    }
}
