using System.Collections.Concurrent;
using Dapper;
using Npgsql;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// Masked display names (<see cref="Masks.Name"/>) kept in memory, so a history page's counterparties cost no read and no
/// AES-GCM open each time (BENCHMARKS.md, issue 13, history). A sealed name changes only when its account is closed (the name
/// is erased), so an entry stays right until then; the closing process drops its own entry and, inside the erasing
/// transaction, sends <c>pg_notify</c> on the channel of <see cref="UserStates"/> (one channel and one LISTEN for everything
/// kept of people), which every process's <see cref="UserStatesListener"/> turns into <see cref="Forget"/>. The cache is only
/// used while that LISTEN is in place (<see cref="Live"/>): on SQLite, or while the LISTEN connection is down, every name is read. At most <see cref="EntriesMax"/> entries: when full it starts over.
/// </summary>
internal sealed class MaskedNameCache
{
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
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_notify(@channel, @user)",
                new { channel = UserStates.NotifyChannel, user = userId.ToString("N") }, tx, cancellationToken: ct));
    }
}
