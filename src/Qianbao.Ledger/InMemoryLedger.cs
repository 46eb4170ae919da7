namespace Qianbao.Ledger;

/// <summary>
/// The whole ledger in memory: the reference model for tests and benchmarks, and the definition of
/// what a store must do (load, <see cref="LedgerWorkingSet.Apply"/>, persist the changes).
/// Not thread-safe.
/// </summary>
public sealed class InMemoryLedger
{
    private readonly LedgerWorkingSet set = new([], []);
    private readonly List<TransferId> log = [];

    public CreateAccountResult CreateAccount(in Account account) => set.AddAccount(account);

    /// <summary>Applies a batch at <paramref name="nowUs"/> and returns one result per request.</summary>
    public TransferResult[] CreateTransfers(ReadOnlySpan<Transfer> requests, long nowUs)
    {
        var results = new TransferResult[requests.Length];
        set.Apply(requests, results, nowUs);
        log.AddRange(set.CreatedTransfers.Select(t => t.Id));
        set.AcceptChanges();
        return results;
    }

    public Account GetAccount(AccountId id) =>
        set.TryGetAccount(id, out var account) ? account : throw new KeyNotFoundException($"account {id}");

    public TransferRecord? GetTransfer(TransferId id) => set.TryGetTransfer(id, out var t) ? t : null;

    /// <summary>Every transfer recorded, in application order, as it stands now (a hold shows what became of it).</summary>
    public IReadOnlyList<TransferRecord> Transfers => [.. log.Select(id => GetTransfer(id)!)];

    /// <summary>Totals per currency over the given accounts; see <see cref="LedgerTotals"/>.</summary>
    public IReadOnlyList<LedgerTotals> Totals(IEnumerable<AccountId> accountIds) =>
        LedgerTotals.Sum(accountIds.Select(GetAccount));
}
