using Qianbao.Ledger;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Money.Ledger;

namespace Qianbao.Server.Money.Pipeline;

/// <summary>How a command through the pipeline ended. Exhaustive: every caller maps each value.</summary>
public enum MoneyOutcomeKind : byte
{
    /// <summary>Every transfer is applied (created now, or earlier by the same client id).</summary>
    Applied,

    /// <summary>The command's guard did not hold; nothing was applied (the module re-reads its state to say why).</summary>
    GuardRejected,

    /// <summary>A movement policy refused the command; nothing was applied. <see cref="MoneyOutcome.Refusal"/> says why.</summary>
    Refused,

    /// <summary>The ledger refused a transfer (for example <see cref="TransferResult.ExceedsCredits"/>); nothing was applied.</summary>
    LedgerRejected,
}

/// <summary>What the pipeline answers for one command: its kind, the per-transfer results and a policy's refusal.</summary>
public readonly record struct MoneyOutcome(MoneyOutcomeKind Kind, TransferResult[] Results, MovementRefusal? Refusal);

/// <summary>
/// The one way money moves. Every module submits its ledger commands here; the batch then commits, in one
/// transaction, the transfers, the module's typed effects (<see cref="IEffect"/>) and domain events, and the
/// idempotent response, after the command's guard (<see cref="IGuard"/>) and every movement policy
/// (<see cref="IMovementPolicy"/>, with the accounts locked) let it through.
/// </summary>
public sealed class MoneyPipeline(LedgerExecutor executor, EventSignal events)
{
    /// <summary>Submits <paramref name="command"/> and answers once its batch is durable.</summary>
    public async Task<MoneyOutcome> SubmitAsync(LedgerCommand command, CancellationToken ct)
    {
        var results = await executor.SubmitAsync(command, ct);
        // Whatever effects it carried are committed: wake the event subscribers now rather than at their next poll.
        if (command.Effects is not null && results.All(r => r.IsApplied()) && !command.GuardRejected && command.Refusal is null) events.Nudge();
        if (command.Refusal is { } refusal) return new(MoneyOutcomeKind.Refused, results, refusal);
        if (command.GuardRejected) return new(MoneyOutcomeKind.GuardRejected, results, null);
        return new(results.All(r => r.IsApplied()) ? MoneyOutcomeKind.Applied : MoneyOutcomeKind.LedgerRejected, results, null);
    }

    /// <summary>Submits a single transfer.</summary>
    public Task<MoneyOutcome> SubmitAsync(Transfer transfer, CancellationToken ct) => SubmitAsync(new LedgerCommand([transfer]), ct);

    /// <summary>Reads a transfer (for example the hold behind a channel order) without moving anything.</summary>
    public Task<TransferRecord?> GetTransferAsync(TransferId id, CancellationToken ct) => executor.Store.GetTransferAsync(id, ct);
}
