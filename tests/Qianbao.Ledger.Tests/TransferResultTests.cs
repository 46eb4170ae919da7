using static Qianbao.Ledger.Tests.LedgerFixture;

namespace Qianbao.Ledger.Tests;

/// <summary>
/// One scenario per <see cref="TransferResult"/> value: the smallest input that must produce it. A
/// failing result must leave balances, the transfer log and every transfer record exactly as they were.
/// <see cref="EveryResultCodeHasAScenario"/> makes a new result code without a scenario fail the suite.
/// </summary>
public sealed class TransferResultTests
{
    private const long Max = long.MaxValue;

    /// <param name="Arrange">Brings the ledger into the state the request needs (may move the clock).</param>
    /// <param name="Act">The batch under test.</param>
    /// <param name="Index">Which request in the batch must answer the expected result.</param>
    private sealed record Scenario(Action<LedgerFixture> Arrange, Transfer[] Act, int Index = 0);

    private static readonly Action<LedgerFixture> Nothing = _ => { };

    private static readonly Dictionary<TransferResult, Scenario> Scenarios = new()
    {
        [TransferResult.Created] = new(f => f.Fund(1, Wallet, 100), [Plain(2, Wallet, Merchant, 40)]),
        [TransferResult.LinkedEventFailed] = new(Nothing,
            [Plain(1, Clearing, Wallet, 10, TransferFlags.Linked), Plain(2, Wallet, Merchant, 11)]),
        [TransferResult.LinkedEventChainOpen] = new(Nothing, [Plain(1, Clearing, Wallet, 10, TransferFlags.Linked)]),

        [TransferResult.IdMustNotBeZero] = new(Nothing, [Plain(0, Clearing, Wallet, 10)]),
        [TransferResult.DebitAccountIdMustNotBeZero] = new(Nothing, [Plain(1, default, Wallet, 10)]),
        [TransferResult.CreditAccountIdMustNotBeZero] = new(Nothing, [Plain(1, Clearing, default, 10)]),
        [TransferResult.AccountsMustBeDifferent] = new(Nothing, [Plain(1, Clearing, Clearing, 10)]),
        [TransferResult.PendingIdMustBeZero] = new(f => f.Arrange(Hold(1, Clearing, Wallet, 10)),
            [Plain(2, Clearing, Wallet, 10) with { PendingId = Tid(1) }]),
        [TransferResult.PendingIdMustNotBeZero] = new(Nothing, [Post(2, pendingId: 0)]),
        [TransferResult.PendingIdMustBeDifferent] = new(Nothing, [Post(2, pendingId: 2)]),
        [TransferResult.TimeoutReservedForPendingTransfer] = new(Nothing, [Plain(1, Clearing, Wallet, 10) with { TimeoutSeconds = 1 }]),
        [TransferResult.TimeoutTooLong] = new(Nothing, [Hold(1, Clearing, Wallet, 10, Transfer.TimeoutSecondsMax + 1)]),
        [TransferResult.AmountMustBePositive] = new(Nothing, [Plain(1, Clearing, Wallet, 0)]),
        [TransferResult.CodeMustNotBeZero] = new(Nothing, [Plain(1, Clearing, Wallet, 10) with { Code = 0 }]),
        [TransferResult.FlagsAreMutuallyExclusive] = new(f => f.Arrange(Hold(1, Clearing, Wallet, 10)),
            [Post(2, 1) with { Flags = TransferFlags.PostPending | TransferFlags.VoidPending }]),
        [TransferResult.ReferenceTooLong] = new(Nothing,
            [Plain(1, Clearing, Wallet, 10) with { Reference = new string('r', Transfer.ReferenceLengthMax + 1) }]),

        [TransferResult.DebitAccountNotFound] = new(Nothing, [Plain(1, Missing, Wallet, 10)]),
        [TransferResult.CreditAccountNotFound] = new(Nothing, [Plain(1, Clearing, Missing, 10)]),
        [TransferResult.AccountsMustHaveTheSameCurrency] = new(Nothing, [Plain(1, Clearing, UsdClearing, 10)]),
        [TransferResult.TransferCurrencyMismatch] = new(Nothing, [Plain(1, Clearing, Fee, 10) with { Currency = Usd }]),
        [TransferResult.DebitAccountClosed] = new(Nothing, [Plain(1, ClosedAccount, Fee, 10)]),
        [TransferResult.CreditAccountClosed] = new(Nothing, [Plain(1, Clearing, ClosedAccount, 10)]),

        [TransferResult.PendingTransferNotFound] = new(Nothing, [Post(2, 1)]),
        [TransferResult.PendingTransferNotPending] = new(f => f.Arrange(Plain(1, Clearing, Wallet, 10)), [Post(2, 1)]),
        [TransferResult.PendingTransferHasDifferentDebitAccountId] = new(f => f.Arrange(Hold(1, Clearing, Wallet, 10)),
            [Post(2, 1) with { DebitAccountId = Fee }]),
        [TransferResult.PendingTransferHasDifferentCreditAccountId] = new(f => f.Arrange(Hold(1, Clearing, Wallet, 10)),
            [Post(2, 1) with { CreditAccountId = Fee }]),
        [TransferResult.PendingTransferHasDifferentCurrency] = new(f => f.Arrange(Hold(1, Clearing, Wallet, 10)),
            [Post(2, 1) with { Currency = Usd }]),
        [TransferResult.ExceedsPendingTransferAmount] = new(f => f.Arrange(Hold(1, Clearing, Wallet, 10)), [Post(2, 1, 11)]),
        [TransferResult.PendingTransferHasDifferentAmount] = new(f => f.Arrange(Hold(1, Clearing, Wallet, 10)), [Void(2, 1, 9)]),
        [TransferResult.PendingTransferAlreadyPosted] = new(f => f.Arrange(Hold(1, Clearing, Wallet, 10), Post(2, 1)), [Void(3, 1)]),
        [TransferResult.PendingTransferAlreadyVoided] = new(f => f.Arrange(Hold(1, Clearing, Wallet, 10), Void(2, 1)), [Post(3, 1)]),
        [TransferResult.PendingTransferExpired] = new(f =>
        {
            f.Arrange(Hold(1, Clearing, Wallet, 10, timeoutSeconds: 5));
            f.Now += 5 * Second;
        }, [Post(2, 1)]),

        [TransferResult.Exists] = new(f => f.Arrange(Plain(1, Clearing, Wallet, 10)), [Plain(1, Clearing, Wallet, 10)]),
        [TransferResult.ExistsWithDifferentFlags] = new(f => f.Arrange(Plain(1, Clearing, Wallet, 10)), [Hold(1, Clearing, Wallet, 10)]),
        [TransferResult.ExistsWithDifferentDebitAccountId] = new(f => f.Arrange(Plain(1, Clearing, Wallet, 10)), [Plain(1, Fee, Wallet, 10)]),
        [TransferResult.ExistsWithDifferentCreditAccountId] = new(f => f.Arrange(Plain(1, Clearing, Wallet, 10)), [Plain(1, Clearing, Fee, 10)]),
        [TransferResult.ExistsWithDifferentAmount] = new(f => f.Arrange(Plain(1, Clearing, Wallet, 10)), [Plain(1, Clearing, Wallet, 11)]),
        [TransferResult.ExistsWithDifferentPendingId] = new(
            f => f.Arrange(Hold(1, Clearing, Wallet, 10), Hold(2, Clearing, Wallet, 10), Post(3, 1)), [Post(3, 2)]),
        [TransferResult.ExistsWithDifferentTimeout] = new(f => f.Arrange(Hold(1, Clearing, Wallet, 10, 60)), [Hold(1, Clearing, Wallet, 10, 61)]),
        [TransferResult.ExistsWithDifferentCode] = new(f => f.Arrange(Plain(1, Clearing, Wallet, 10)),
            [Plain(1, Clearing, Wallet, 10) with { Code = 2 }]),
        [TransferResult.ExistsWithDifferentReference] = new(f => f.Arrange(Plain(1, Clearing, Wallet, 10) with { Reference = "a" }),
            [Plain(1, Clearing, Wallet, 10) with { Reference = "b" }]),
        [TransferResult.ExistsWithDifferentCurrency] = new(f => f.Arrange(Plain(1, Clearing, Wallet, 10)),
            [Plain(1, Clearing, Wallet, 10) with { Currency = Usd }]),

        [TransferResult.OverflowsDebitsPending] = new(f => f.Arrange(Hold(1, Clearing, Fee, Max)), [Hold(2, Clearing, Suspense, 1)]),
        [TransferResult.OverflowsCreditsPending] = new(f => f.Arrange(Hold(1, Clearing, Fee, Max)), [Hold(2, Suspense, Fee, 1)]),
        [TransferResult.OverflowsDebitsPosted] = new(f => f.Arrange(Plain(1, Clearing, Fee, Max)), [Plain(2, Clearing, Suspense, 1)]),
        [TransferResult.OverflowsCreditsPosted] = new(f => f.Arrange(Plain(1, Clearing, Fee, Max)), [Plain(2, Suspense, Fee, 1)]),
        [TransferResult.OverflowsDebits] = new(f => f.Arrange(Plain(1, Clearing, Fee, Max)), [Hold(2, Clearing, Suspense, 1)]),
        [TransferResult.OverflowsCredits] = new(f => f.Arrange(Plain(1, Clearing, Fee, Max)), [Hold(2, Suspense, Fee, 1)]),

        [TransferResult.ExceedsCredits] = new(f => f.Fund(1, Wallet, 100), [Plain(2, Wallet, Merchant, 101)]),
        [TransferResult.ExceedsDebits] = new(Nothing, [Plain(1, Clearing, Capped, 1)]),
    };

    public static TheoryData<TransferResult> Results() => new(Scenarios.Keys.Order());

    [Fact]
    public void EveryResultCodeHasAScenario()
    {
        var missing = Enum.GetValues<TransferResult>().Where(r => !Scenarios.ContainsKey(r)).ToList();
        missing.ShouldBeEmpty("every TransferResult needs a scenario in TransferResultTests.Scenarios");
    }

    [Theory]
    [MemberData(nameof(Results))]
    public void ScenarioProducesItsResult(TransferResult expected)
    {
        var scenario = Scenarios[expected];
        var f = new LedgerFixture();
        scenario.Arrange(f);
        var before = f.Snapshot();

        var results = f.Apply(scenario.Act);

        results[scenario.Index].ShouldBe(expected);
        f.ShouldBeConsistent();
        var after = f.Snapshot();
        switch (expected)
        {
            case TransferResult.Created:
                after.Log.Length.ShouldBe(before.Log.Length + 1);
                after.Accounts.ShouldNotBe(before.Accounts);
                f.Ledger.GetTransfer(scenario.Act[0].Id).ShouldNotBeNull();
                break;
            case TransferResult.PendingTransferExpired:
                // The one failure with an effect: the lapsed hold is released and marked, and nothing is recorded.
                after.Log.Select(t => t.Id).ShouldBe(before.Log.Select(t => t.Id));
                f.Ledger.GetTransfer(Tid(1))!.State.ShouldBe(PendingState.Expired);
                f.Ledger.Transfers.Single(t => t.Id == Tid(1)).State.ShouldBe(PendingState.Expired);
                f.Ledger.GetTransfer(Tid(2)).ShouldBeNull();
                f[Clearing].DebitsPending.ShouldBe(0);
                f[Wallet].CreditsPending.ShouldBe(0);
                f[Wallet].CreditsPosted.ShouldBe(0);
                break;
            default:
                // Failures and idempotent replays change nothing at all.
                after.ShouldBeSameAs(before);
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Results))]
    public void OnlyCreatedAndExistsCountAsApplied(TransferResult result) =>
        result.IsApplied().ShouldBe(result is TransferResult.Created or TransferResult.Exists);

    [Theory]
    [MemberData(nameof(Results))]
    public void ExistsMismatchFamilyIsExactlyTheExistsWithValues(TransferResult result) =>
        result.IsExistsMismatch().ShouldBe(result.ToString().StartsWith("ExistsWithDifferent", StringComparison.Ordinal));
}
