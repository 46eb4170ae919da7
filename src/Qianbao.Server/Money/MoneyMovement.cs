using Qianbao.Ledger;
using Qianbao.Server.Http;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Money;

/// <summary>
/// Runs an idempotent money-moving request of the native API through the <see cref="MoneyPipeline"/>: the transfers (ids derived from
/// the Idempotency-Key) and the response to store go in one durable batch commit. A replay of a request
/// whose transfers exist answers the response stored with them; a key reused for a different transfer
/// answers 422 <c>idempotency_key_reused</c>.
/// </summary>
public sealed class MoneyMovement(MoneyPipeline pipeline, Idempotency idempotency)
{
    /// <param name="success">The status and body for a chain that was applied; called inside the batch.</param>
    /// <param name="effects">State changes and domain events committed with the transfers when they are applied.</param>
    public async Task<IResult> ExecuteAsync(IdempotentRequest request, IReadOnlyList<Transfer> transfers,
        Func<(int Status, object Body)> success, CancellationToken ct, IReadOnlyList<IEffect>? effects = null)
    {
        // Decided and serialized once, inside the batch; what was stored is what this request answers. (A retried
        // batch decides again, and the last decision is the one that committed.)
        StoredResponse? decided = null;
        var command = new LedgerCommand(transfers, results =>
            decided = Decide(results, success) is { } d ? request.Response(d.Status, d.Body) : null,
            effects: effects is null ? null : _ => effects);
        var outcome = await pipeline.SubmitAsync(command, ct);
        // Refused by a policy: nothing moved and nothing is stored under the key, so the same request may succeed later.
        if (outcome.Refusal is { } refusal) return ApiProblem.Unprocessable(refusal.Code, refusal.Detail);
        var results = outcome.Results;
        if (decided is null) return Idempotency.KeyReused();
        if (results.Any(r => r == TransferResult.Exists))
        {
            // Applied by an earlier request with this key: answer exactly what that request was answered.
            var replay = await idempotency.FindReplayAsync(request, ct);
            if (replay is not null) return replay;
        }
        return new RawJsonResult(decided.StatusCode, decided.Body);
    }

    private static (int Status, object Body)? Decide(IReadOnlyList<TransferResult> results, Func<(int Status, object Body)> success)
    {
        if (results.All(r => r.IsApplied())) return success();
        if (results.Any(r => r.IsExistsMismatch())) return null;
        var failure = results.First(r => r is not (TransferResult.LinkedEventFailed or TransferResult.Created or TransferResult.Exists));
        if (LedgerProblems.For(failure) is { } problem) return problem;
        throw new InvariantViolationException($"the wallet API built a transfer the ledger rejected as {failure}");
    }
}
