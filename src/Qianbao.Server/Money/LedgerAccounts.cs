using System.Collections.Concurrent;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Wallet;
using Qianbao.Server.Money.Ledger;

namespace Qianbao.Server.Money;

/// <summary>
/// Creates ledger accounts on first use. Accounts are never deleted, so an id once known to exist is
/// remembered and costs no further database round trip.
/// </summary>
public sealed class LedgerAccounts(LedgerStore store, TimeProvider clock)
{
    private const int RememberedMax = 1_000_000;
    private readonly ConcurrentDictionary<AccountId, byte> known = new();

    public async Task EnsureAsync(Account account, Guid? ownerId, CancellationToken ct)
    {
        if (known.ContainsKey(account.Id)) return;
        var result = await store.CreateAccountAsync(account, ownerId, clock.GetUnixMicroseconds(), ct);
        Invariant.That(result is CreateAccountResult.Created or CreateAccountResult.Exists,
            $"chart-of-accounts account {account.Id} could not be created: {result}");
        if (known.Count < RememberedMax) known.TryAdd(account.Id, 0);
    }
}
