namespace Qianbao.Ledger.Tests;

/// <summary>
/// A store in miniature that uses <see cref="LedgerWorkingSet"/> the way its documentation asks: per
/// batch, load only the accounts and transfers the batch refers to, apply, then write back exactly
/// <see cref="LedgerWorkingSet.ChangedAccounts"/>, <see cref="LedgerWorkingSet.CreatedTransfers"/> and
/// <see cref="LedgerWorkingSet.ChangedPendingTransfers"/>. If the change tracking missed anything, this
/// store would drift from the reference model.
/// </summary>
internal sealed class WorkingSetStore
{
    private readonly Dictionary<AccountId, Account> accounts = [];
    private readonly Dictionary<TransferId, TransferRecord> transfers = [];
    private readonly List<TransferId> order = [];

    public IReadOnlyDictionary<AccountId, Account> Accounts => accounts;

    public IReadOnlyDictionary<TransferId, TransferRecord> Transfers => transfers;

    public IReadOnlyList<TransferId> Order => order;

    public void AddAccount(Account account) => accounts.Add(account.Id, account);

    public TransferResult[] Apply(Transfer[] batch, long nowUs)
    {
        var transferIds = batch.SelectMany(t => new[] { t.Id, t.PendingId }).Where(id => !id.IsZero).ToHashSet();
        var loadedTransfers = transferIds.Where(transfers.ContainsKey).Select(id => transfers[id]).ToList();
        var accountIds = batch.SelectMany(t => new[] { t.DebitAccountId, t.CreditAccountId })
            .Concat(loadedTransfers.SelectMany(t => new[] { t.DebitAccountId, t.CreditAccountId }))
            .ToHashSet();
        var set = new LedgerWorkingSet(accountIds.Where(accounts.ContainsKey).Select(id => accounts[id]), loadedTransfers);

        var results = new TransferResult[batch.Length];
        set.Apply(batch, results, nowUs);

        foreach (var account in set.ChangedAccounts) accounts[account.Id] = account;
        foreach (var created in set.CreatedTransfers)
        {
            transfers.ContainsKey(created.Id).ShouldBeFalse($"{created.Id} reported created but already stored");
            transfers.Add(created.Id, created);
            order.Add(created.Id);
        }
        foreach (var changed in set.ChangedPendingTransfers)
        {
            transfers.ContainsKey(changed.Id).ShouldBeTrue($"{changed.Id} reported changed but never stored");
            transfers[changed.Id] = changed;
        }
        return results;
    }
}
