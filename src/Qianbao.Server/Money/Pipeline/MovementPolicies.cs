using Qianbao.Ledger;
using Qianbao.Server.Http;
using Qianbao.Server.Money.Ledger;

namespace Qianbao.Server.Money.Pipeline;

/// <summary>
/// Why the pipeline refused a command before any of it was applied: a stable problem code (for example
/// <c>account_frozen</c>) that the HTTP edge and the gateway translate for their callers.
/// </summary>
public readonly record struct MovementRefusal(string Code, string Detail);

/// <summary>
/// What a policy may read about the accounts of a batch, loaded with their row locks in the batch transaction,
/// so a policy decides on the same state the postings will change.
/// </summary>
public interface IAccountFacts
{
    /// <summary>Whether an operator froze the owner of <paramref name="account"/> (its money may come in, not go out).</summary>
    bool IsOwnerFrozen(AccountId account);
}

/// <summary>
/// A rule every money movement passes through (freezes today; tier limits and risk rules later). Policies are
/// pure decisions over the command and the locked account facts; the store does the I/O. A policy runs for
/// every command of every module because every command goes through <see cref="MoneyPipeline"/>.
/// </summary>
public interface IMovementPolicy
{
    /// <summary>Null to let <paramref name="command"/> through, or why it must not move any money.</summary>
    MovementRefusal? Check(LedgerCommand command, IAccountFacts facts);
}

/// <summary>
/// A frozen owner's accounts receive but do not pay: any new transfer that debits them is refused. Posting or
/// voiding a hold made before the freeze still goes through (a payout the bank already made must be booked), and so
/// does a court-ordered amount hold (the court's claim is not the owner spending), and so do a points clawback and a points expiry. A frozen merchant also takes no
/// payments: a merchant payment credited to a frozen owner is refused with <c>merchant_frozen</c>, checked first so
/// the buyer is told it is the merchant (the payment's fee transfer debits the merchant too).
/// </summary>
public sealed class FreezePolicy : IMovementPolicy
{
    public MovementRefusal? Check(LedgerCommand command, IAccountFacts facts)
    {
        foreach (var t in command.Transfers)
        {
            if (t.Has(TransferFlags.PostPending) || t.Has(TransferFlags.VoidPending)) continue;
            if (t.Code == TransferCodes.MerchantPayment && facts.IsOwnerFrozen(t.CreditAccountId))
                return new MovementRefusal(ErrorCodes.MerchantFrozen, "The merchant is frozen: it accepts no payments.");
        }
        foreach (var t in command.Transfers)
        {
            if (t.Has(TransferFlags.PostPending) || t.Has(TransferFlags.VoidPending) || t.Code == TransferCodes.JudicialHold) continue;
            // Taking back refunded points and expiring points are not the owner spending (redeeming points is, and stays refused).
            if (t.Code is TransferCodes.PointsClawback or TransferCodes.PointsExpiry) continue;
            if (facts.IsOwnerFrozen(t.DebitAccountId))
                return new MovementRefusal(ErrorCodes.AccountFrozen, "The account is frozen: it can receive money but not send, pay or withdraw.");
        }
        return null;
    }
}
