using System.Collections.Concurrent;
using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money;

/// <summary>
/// Creates ledger accounts on first use, and reads an owner's accounts for the modules (which never query the
/// ledger tables themselves). Accounts are never deleted, so an id once known to exist is remembered and costs
/// no further database round trip.
/// </summary>
public sealed class LedgerAccounts(LedgerStore store, Db db, TimeProvider clock)
{
    private const int RememberedMax = 1_000_000;
    private readonly ConcurrentDictionary<AccountId, byte> known = new();

    public Task EnsureAsync(Account account, Guid? ownerId, CancellationToken ct) =>
        // Known here: no state machine (a secure transfer ensures five accounts per request, nearly always known).
        known.ContainsKey(account.Id) ? Task.CompletedTask : CreateAsync(account, ownerId, ct);

    private async Task CreateAsync(Account account, Guid? ownerId, CancellationToken ct)
    {
        var result = await store.CreateAccountAsync(account, ownerId, clock.GetUnixMicroseconds(), ct);
        Invariant.That(result is CreateAccountResult.Created or CreateAccountResult.Exists,
            $"chart-of-accounts account {account.Id} could not be created: {result}");
        if (known.Count < RememberedMax) known.TryAdd(account.Id, 0);
    }

    /// <summary>The accounts of <paramref name="ownerId"/> with chart code <paramref name="code"/>, one per currency, ordered by currency.</summary>
    public async Task<IReadOnlyList<Account>> OwnedAsync(Guid ownerId, ushort code, CancellationToken ct)
    {
        List<Guid> ids;
        await using (var connection = await db.OpenAsync(ct))
        {
            ids = (await connection.QueryAsync<Guid>(new CommandDefinition("SELECT id FROM accounts WHERE owner_id = @ownerId AND code = @code",
                new { ownerId, code = (int)code }, cancellationToken: ct))).AsList();
        }
        // The first connection is back in the pool before the store takes one: never hold two at once.
        if (ids.Count == 0) return [];
        var accounts = await store.GetAccountsAsync([.. ids.Select(i => new AccountId(i))], ct);
        return [.. accounts.OrderBy(a => a.Currency.Code, StringComparer.Ordinal)];
    }

    /// <summary>The accounts among <paramref name="ids"/> that exist, as stored now (a read for answers, not a lock).</summary>
    public async Task<IReadOnlyDictionary<AccountId, Account>> GetAsync(IReadOnlyList<AccountId> ids, CancellationToken ct)
    {
        if (ids.Count == 0) return new Dictionary<AccountId, Account>();
        var accounts = await store.GetAccountsAsync([.. ids], ct);
        return accounts.ToDictionary(a => a.Id);
    }

    /// <summary>Who owns <paramref name="account"/> (a user or a merchant), or null for a system account or none.</summary>
    public async Task<Guid?> OwnerOfAsync(AccountId account, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("SELECT owner_id FROM accounts WHERE id = @id",
            new { id = account.Value }, cancellationToken: ct));
    }
}
