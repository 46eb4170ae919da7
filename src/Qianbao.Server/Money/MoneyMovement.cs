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
    /// <param name="failure">
    /// The caller's own answer to a ledger failure of the transfer at a given index of <paramref name="transfers"/> (for
    /// example a spending-limit transfer it put in front of the payment). A failure it takes is, like a policy's refusal,
    /// not stored under the key (the same request may succeed later), and its answer is made after the batch, so it may read.
    /// </param>
    public async Task<IResult> ExecuteAsync(IdempotentRequest request, IReadOnlyList<Transfer> transfers,
        Func<(int Status, object Body)> success, CancellationToken ct, IReadOnlyList<IEffect>? effects = null, LedgerFailureAnswer? failure = null)
    {
        // Decided and serialized once, inside the batch; what was stored is what this request answers. (A retried
        // batch decides again, and the last decision is the one that committed.)
        StoredResponse? decided = null;
        (int Index, TransferResult Result)? taken = null;
        var command = new LedgerCommand(transfers, results =>
        {
            taken = failure is null ? null : FirstFailure(results) is { } f && failure.Takes(f.Index, f.Result) ? f : null;
            if (taken is not null) return decided = null;
            return decided = Decide(results, success) is { } d ? request.Response(d.Status, d.Body) : null;
        }, guard: request.LookedUp ? null : new IdempotencyKeyFreeGuard(request.Scope, request.Key), effects: effects is null ? null : _ => effects);
        var outcome = await pipeline.SubmitAsync(command, ct);
        // A response is stored under the key already (the request began without looking): answer it, as a lookup would have.
        if (outcome.Kind == MoneyOutcomeKind.GuardRejected) return await idempotency.FindReplayAsync(request, ct) ?? Idempotency.KeyReused();
        // Refused by a policy: nothing moved and nothing is stored under the key, so the same request may succeed later.
        if (outcome.Refusal is { } refusal) return ApiProblem.Unprocessable(refusal.Code, refusal.Detail);
        if (taken is { } t) return await failure!.AnswerAsync(t.Index, t.Result, ct);
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

    /// <summary>The transfer that made a chain fail, with its index; null when every transfer is applied or an id was reused.</summary>
    public static (int Index, TransferResult Result)? FirstFailure(IReadOnlyList<TransferResult> results)
    {
        if (results.Any(r => r.IsExistsMismatch())) return null;
        for (var i = 0; i < results.Count; i++)
            if (results[i] is not (TransferResult.LinkedEventFailed or TransferResult.Created or TransferResult.Exists)) return (i, results[i]);
        return null;
    }

    private static (int Status, object Body)? Decide(IReadOnlyList<TransferResult> results, Func<(int Status, object Body)> success)
    {
        if (results.All(r => r.IsApplied())) return success();
        if (FirstFailure(results) is not { } failure) return null;
        if (LedgerProblems.For(failure.Result) is { } problem) return problem;
        throw new InvariantViolationException($"the wallet API built a transfer the ledger rejected as {failure.Result}");
    }
}

/// <summary>A caller's answer to some ledger failures of its chain (see <see cref="MoneyMovement.ExecuteAsync"/>).</summary>
/// <param name="Takes">Whether the failure of the transfer at an index is the caller's to answer; pure and fast (runs inside the batch).</param>
/// <param name="AnswerAsync">The answer, made after the batch.</param>
public sealed record LedgerFailureAnswer(Func<int, TransferResult, bool> Takes, Func<int, TransferResult, CancellationToken, Task<IResult>> AnswerAsync);
