using Qianbao.Ledger;

namespace Qianbao.Server.Storage.Ledger;

/// <summary>
/// A response to keep under an <c>Idempotency-Key</c>, written in the same transaction as the ledger
/// effect it describes, so a replay after a crash finds either both or neither.
/// </summary>
public sealed record StoredResponse(string Scope, string Key, string RequestHash, int StatusCode, string Body, long CreatedAtUs);

/// <summary>
/// One caller's request to the ledger: a single transfer or a linked chain (every transfer but the last
/// carries <see cref="TransferFlags.Linked"/>), plus, optionally, a function that turns the results into a
/// response to store durably with them. The function runs inside the batch, so it must be pure and fast.
/// </summary>
public sealed class LedgerCommand
{
    public LedgerCommand(IReadOnlyList<Transfer> transfers, Func<IReadOnlyList<TransferResult>, StoredResponse?>? responseToStore = null)
    {
        Invariant.That(transfers.Count > 0, "a ledger command holds at least one transfer");
        for (var i = 0; i < transfers.Count; i++)
        {
            var linked = transfers[i].Has(TransferFlags.Linked);
            // A command is its own chain: a Linked flag on its last transfer would bind it to a stranger's command.
            Invariant.That(linked == (i < transfers.Count - 1), "every transfer but the last of a command is Linked");
        }
        Transfers = transfers;
        ResponseToStore = responseToStore;
    }

    public IReadOnlyList<Transfer> Transfers { get; }
    public Func<IReadOnlyList<TransferResult>, StoredResponse?>? ResponseToStore { get; }

    internal TaskCompletionSource<TransferResult[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    internal long EnqueuedAtTicks { get; set; }
}
