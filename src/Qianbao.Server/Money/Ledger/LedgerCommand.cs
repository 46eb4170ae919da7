using Qianbao.Ledger;

namespace Qianbao.Server.Money.Ledger;

/// <summary>
/// A response to keep under an <c>Idempotency-Key</c>, written in the same transaction as the ledger
/// effect it describes, so a replay after a crash finds either both or neither.
/// </summary>
public sealed record StoredResponse(string Scope, string Key, string RequestHash, int StatusCode, string Body, long CreatedAtUs);

/// <summary>
/// A SQL statement written in the batch transaction when its command is applied (e.g. a trade's state
/// change, an outbox row), so the ledger effect and the business state commit together. Parameter values
/// may be <see cref="Guid"/>s; each store writes them in its engine's id form.
/// </summary>
public sealed record SqlEffect(string Sql, IReadOnlyDictionary<string, object?> Parameters);

/// <summary>
/// A precondition checked inside the batch transaction before the command is applied: <see cref="Sql"/> is a
/// SELECT that must return at least one row (on PostgreSQL the store appends <c>FOR UPDATE</c>, so the rows
/// stay locked until commit). Two commands with the same <see cref="Key"/> never share a batch, so a guard
/// always sees the committed effects of every earlier command with its key.
/// </summary>
public sealed record SqlGuard(string Key, string Sql, IReadOnlyDictionary<string, object?> Parameters);

/// <summary>
/// One caller's request to the ledger: a single transfer or a linked chain (every transfer but the last
/// carries <see cref="TransferFlags.Linked"/>), plus, optionally, a function that turns the results into a
/// response to store durably with them. The function runs inside the batch, so it must be pure and fast.
/// </summary>
public sealed class LedgerCommand
{
    public LedgerCommand(IReadOnlyList<Transfer> transfers, Func<IReadOnlyList<TransferResult>, StoredResponse?>? responseToStore = null,
        SqlGuard? guard = null, Func<IReadOnlyList<TransferResult>, IReadOnlyList<SqlEffect>>? effects = null)
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
    public SqlGuard? Guard { get; }

    /// <summary>Statements to write with the command when every one of its transfers is applied (created now or before).</summary>
    public Func<IReadOnlyList<TransferResult>, IReadOnlyList<SqlEffect>>? Effects { get; }

    /// <summary>Set when <see cref="Guard"/> found no row; the results are then all <see cref="TransferResult.LinkedEventFailed"/>.</summary>
    public bool GuardRejected { get; internal set; }

    internal TaskCompletionSource<TransferResult[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    internal long EnqueuedAtTicks { get; set; }
}
