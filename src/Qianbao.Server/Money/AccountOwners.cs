using System.Collections.Concurrent;

namespace Qianbao.Server.Money;

/// <summary>
/// Whose each ledger account is (its <c>owner_id</c>; none for the platform's own accounts), kept in memory for the history
/// page's counterparties, so a page reads no <c>accounts</c> row per entry (21 primary-key probes, about a third of the page's
/// PostgreSQL time: BENCHMARKS.md, issue 13, session 6). Safe across server processes without any notification because the
/// mapping never changes: an account's owner is written when the account is created and no statement updates it or deletes an
/// account (balances are the only columns a batch writes), so whatever any process read once stays true. At most
/// <see cref="EntriesMax"/> entries: when full it starts over.
/// </summary>
public sealed class AccountOwners
{
    /// <summary>The bound: about 70 bytes an entry, so at most about 14 MB.</summary>
    public const int EntriesMax = 200_000;

    private readonly ConcurrentDictionary<Guid, Guid?> owners = new();
    private int count;

    public int Count => Volatile.Read(ref count);

    public bool TryGet(Guid accountId, out Guid? ownerId) => owners.TryGetValue(accountId, out ownerId);

    /// <summary>Keeps an owner read from the committed <c>accounts</c> row.</summary>
    public void Add(Guid accountId, Guid? ownerId)
    {
        if (owners.TryAdd(accountId, ownerId) && Interlocked.Increment(ref count) > EntriesMax)
        {
            owners.Clear();
            Volatile.Write(ref count, 0);
        }
    }
}
