using System.Collections.Concurrent;
using Dapper;
using Npgsql;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// Masked display names (<see cref="Masks.Name"/>) kept in memory, so a history page's counterparties cost no read and no
/// AES-GCM open each time (BENCHMARKS.md, issue 13, history). A sealed name changes only when its account is closed (the name
/// is erased), so an entry stays right until then; the closing process drops its own entry and, inside the erasing
/// transaction, sends <c>pg_notify(<see cref="Channel"/>, user id)</c>, which every process's <see cref="MaskedNameWatcher"/>
/// turns into <see cref="Forget"/>. The cache is only used while that LISTEN is in place (<see cref="Live"/>): on SQLite, or
/// while the LISTEN connection is down, every name is read. At most <see cref="EntriesMax"/> entries: when full it starts over.
/// </summary>
internal sealed class MaskedNameCache
{
    /// <summary>The PostgreSQL LISTEN/NOTIFY channel that names a user whose name changed.</summary>
    public const string Channel = "qianbao_user_names";

    /// <summary>The bound: about 100 bytes an entry, so at most about 10 MB.</summary>
    public const int EntriesMax = 100_000;

    private readonly ConcurrentDictionary<Guid, string> names = new();
    private int count;
    private long generation;
    private volatile bool live;

    public bool Live => live;

    public int Count => Volatile.Read(ref count);

    /// <summary>Changes with every forgotten name and every start or loss of the LISTEN; read before the read of the names.</summary>
    public long Generation => Interlocked.Read(ref generation);

    public bool TryGet(Guid userId, out string name)
    {
        name = "";
        return live && names.TryGetValue(userId, out name!);
    }

    /// <summary>
    /// Keeps a name read after <paramref name="generationBeforeRead"/> was taken, unless a change was heard since (then the read
    /// may predate it). Checked after adding, so a <see cref="Forget"/> racing with the add cannot leave a stale entry.
    /// </summary>
    public void Add(Guid userId, string maskedName, long generationBeforeRead)
    {
        if (!live || Generation != generationBeforeRead) return;
        if (names.TryAdd(userId, maskedName) && Interlocked.Increment(ref count) > EntriesMax) Clear();
        if (Generation != generationBeforeRead) names.TryRemove(userId, out _);
    }

    /// <summary>The user's name changed (in this process or, heard by LISTEN, in another).</summary>
    public void Forget(Guid userId)
    {
        Interlocked.Increment(ref generation);
        names.TryRemove(userId, out _);
    }

    /// <summary>The LISTEN started (<paramref name="listening"/>) or was lost: whatever was kept may have missed a change.</summary>
    public void Restart(bool listening)
    {
        Interlocked.Increment(ref generation);
        live = listening;
        Clear();
    }

    private void Clear()
    {
        names.Clear();
        Volatile.Write(ref count, 0);
    }

    /// <summary>
    /// Tells every process (PostgreSQL: at the commit of <paramref name="tx"/>) that the user's name changed; the caller calls
    /// <see cref="Forget"/> after the commit too, so this process does not wait for its own notification.
    /// </summary>
    public static async Task NotifyChangedAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx, Guid userId, CancellationToken ct)
    {
        if (connection is NpgsqlConnection)
            await connection.ExecuteAsync(new CommandDefinition($"SELECT pg_notify('{Channel}', @user)", new { user = userId.ToString() }, tx, cancellationToken: ct));
    }
}

/// <summary>
/// On PostgreSQL, holds the LISTEN that keeps <see cref="MaskedNameCache"/> right across server processes; the cache is used only
/// while it is in place. A connection that breaks is noticed at the next probe (every <see cref="ProbeInterval"/>) or read.
/// </summary>
internal sealed class MaskedNameWatcher(Db db, MaskedNameCache cache, TimeProvider clock, ILogger<MaskedNameWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        if (db.Engine != DatabaseEngine.Postgres) return;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await using var connection = await db.OpenForListenAsync(stop);
                    connection.Notification += (_, e) =>
                    {
                        if (Guid.TryParse(e.Payload, out var userId)) cache.Forget(userId);
                    };
                    await using (var listen = new NpgsqlCommand($"LISTEN {MaskedNameCache.Channel}", connection)) await listen.ExecuteNonQueryAsync(stop);
                    // From here on no change goes unheard; whatever was read before may have missed one.
                    cache.Restart(listening: true);
                    while (!stop.IsCancellationRequested)
                    {
                        if (await connection.WaitAsync(ProbeInterval, stop)) continue;
                        await using var probe = new NpgsqlCommand("SELECT 1", connection);
                        await probe.ExecuteScalarAsync(stop);
                    }
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    cache.Restart(listening: false);
                    logger.LogWarning(ex, "LISTEN {Channel} broke; masked names are read every time until it is back", MaskedNameCache.Channel);
                    await Task.Delay(RetryDelay, clock, stop);
                }
                finally
                {
                    cache.Restart(listening: false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
