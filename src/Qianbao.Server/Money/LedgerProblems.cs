using Qianbao.Ledger;
using Qianbao.Server.Http;

namespace Qianbao.Server.Money;

/// <summary>
/// The caller-facing meaning of ledger results on the wallet API. Results that only a bug can produce
/// (malformed transfers the API itself built) are not mapped: they throw.
/// </summary>
public static class LedgerProblems
{
    /// <summary>The 422 problem body for a business failure, or null when <paramref name="result"/> is not one.</summary>
    public static (int Status, Dictionary<string, object?> Body)? For(TransferResult result) => result switch
    {
        TransferResult.ExceedsCredits or TransferResult.DebitAccountNotFound =>
            Problem("insufficient_funds", "The wallet's available balance does not cover the amount."),
        TransferResult.OverflowsCreditsPosted or TransferResult.OverflowsCreditsPending or TransferResult.OverflowsCredits
            or TransferResult.OverflowsDebitsPosted or TransferResult.OverflowsDebitsPending or TransferResult.OverflowsDebits =>
            Problem("amount_overflow", "The amount would overflow a balance."),
        TransferResult.DebitAccountClosed or TransferResult.CreditAccountClosed =>
            Problem("account_closed", "An account of this transfer is closed."),
        TransferResult.ExceedsDebits => Problem("channel_limit_exceeded", "The funding channel cannot take this amount."),
        _ => null,
    };

    private static (int, Dictionary<string, object?>) Problem(string code, string detail) =>
        (StatusCodes.Status422UnprocessableEntity, ApiProblem.Body(StatusCodes.Status422UnprocessableEntity, code, "The request cannot be carried out.", detail));
}
