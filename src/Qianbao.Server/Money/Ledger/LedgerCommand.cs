using Qianbao.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Money.Ledger;

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
    public LedgerCommand(IReadOnlyList<Transfer> transfers, Func<IReadOnlyList<TransferResult>, StoredResponse?>? responseToStore = null,
        IGuard? guard = null, Func<IReadOnlyList<TransferResult>, IReadOnlyList<IEffect>>? effects = null)
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
        Guard = guard;
        Effects = effects;
    }

    public IReadOnlyList<Transfer> Transfers { get; }
    public Func<IReadOnlyList<TransferResult>, StoredResponse?>? ResponseToStore { get; }

    /// <summary>Checked before applying; when it finds no row, nothing of the command is applied and <see cref="GuardRejected"/> is set.</summary>
    public IGuard? Guard { get; }

    /// <summary>
    /// State changes and domain events to write with the command when every one of its transfers is applied (created
    /// now or before). Called inside the batch, so it must be pure and fast.
    /// </summary>
    public Func<IReadOnlyList<TransferResult>, IReadOnlyList<IEffect>>? Effects { get; }

    /// <summary>Set when <see cref="Guard"/> found no row; the results are then all <see cref="TransferResult.LinkedEventFailed"/>.</summary>
    public bool GuardRejected { get; internal set; }

    /// <summary>Set when a movement policy refused the command; nothing of it was applied and the results are all <see cref="TransferResult.LinkedEventFailed"/>.</summary>
    public MovementRefusal? Refusal { get; internal set; }

    internal TaskCompletionSource<TransferResult[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    internal long EnqueuedAtTicks { get; set; }
}
