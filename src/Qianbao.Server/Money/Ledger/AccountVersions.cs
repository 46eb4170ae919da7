using System.Collections.Concurrent;
using Qianbao.Ledger;

namespace Qianbao.Server.Money.Ledger;

/// <summary>
/// The account row versions this process's batches last wrote (PostgreSQL only): each account's balances with the row's
/// <c>ctid</c> and <c>xmin</c>, kept once the batch commits. Two batches of this process committing the same account may set
/// its entry out of order; the older version left then is only a stale entry, caught like any other. A lock-free batch that finds all its accounts here skips reading
/// them: PersistAsync's UPDATE writes only the row versions named here (ctid AND xmin), so an entry another process, an
/// operator or a rolled-back transaction made stale is never written over; the count falls short and the batch is decided
/// again with the rows read and locked, as for a stale lock-free read. Only used under assumed new ids (see
/// LedgerStore.ApplyOnceAsync), where any transfer not created sends the batch back to be decided on fresh rows: so a stale
/// balance can delay a decision, never refuse a transfer or pay one that the stored balance could not.
/// </summary>
internal sealed class AccountVersions(int capacity)
{
    /// <summary>One account's row version: its balances as committed, where the row is, and the transaction that wrote it.</summary>
    internal readonly record struct Entry(Account Account, string Tid, string Xmin);

    private readonly ConcurrentDictionary<Guid, Entry> entries = new();

    /// <summary>Entries added since the last clear (ConcurrentDictionary.Count takes every bucket lock: too slow per row).</summary>
    private int added;

    /// <summary>Most entries kept (≥ 1); the cache is emptied when it would grow past it (an entry is only a saved read).</summary>
    public int Capacity { get; } = capacity >= 1 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public bool TryGet(Guid id, out Entry entry) => entries.TryGetValue(id, out entry);

    public void Set(Entry entry)
    {
        var id = entry.Account.Id.Value;
        if (!entries.ContainsKey(id) && Interlocked.Increment(ref added) > Capacity)
        {
            entries.Clear();
            Interlocked.Exchange(ref added, 1);
        }
        entries[id] = entry;
    }

    public void Forget(Guid id)
    {
        if (entries.TryRemove(id, out _)) Interlocked.Decrement(ref added);
    }
}
