using static Qianbao.Ledger.Tests.LedgerFixture;

namespace Qianbao.Ledger.Tests;

/// <summary><see cref="LedgerWorkingSet"/> directly: states the public ledger cannot reach, and its change tracking.</summary>
public sealed class WorkingSetTests
{
    private static readonly TransferRecord HoldOnClosed =
        new(Tid(1), ClosedAccount, Clearing, 10, Cny, 1, TransferFlags.Pending, default, 0, null, T0, PendingState.Pending);

    private static LedgerWorkingSet ClosedAccountWithAHold() => new(
        [
            new Account(ClosedAccount, Cny, 1, AccountFlags.Closed | AccountFlags.DebitsMustNotExceedCredits, CreditsPosted: 10, DebitsPending: 10),
            new Account(Clearing, Cny, 1, AccountFlags.None, DebitsPosted: 10, CreditsPending: 10),
        ],
        [HoldOnClosed]);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HoldOnAnAccountClosedLaterCanStillBeSettled(bool post)
    {
        var set = ClosedAccountWithAHold();
        var results = new TransferResult[1];
        set.Apply([post ? Post(2, 1) : Void(2, 1)], results, T0 + Second);
        results[0].ShouldBe(TransferResult.Created);
        set.TryGetAccount(ClosedAccount, out var closed).ShouldBeTrue();
        closed.DebitsPending.ShouldBe(0);
        closed.DebitsPosted.ShouldBe(post ? 10 : 0);
        set.ChangedPendingTransfers.Single().State.ShouldBe(post ? PendingState.Posted : PendingState.Voided);
    }

    [Fact]
    public void AccountClosedLaterTakesNoNewTransfer()
    {
        var set = ClosedAccountWithAHold();
        var results = new TransferResult[2];
        set.Apply([Plain(2, ClosedAccount, Clearing, 1), Plain(3, Clearing, ClosedAccount, 1)], results, T0);
        results.ShouldBe([TransferResult.DebitAccountClosed, TransferResult.CreditAccountClosed]);
        set.ChangedAccounts.ShouldBeEmpty();
    }

    [Fact]
    public void ChangeTrackingNamesExactlyWhatABatchChanged()
    {
        var set = ClosedAccountWithAHold();
        var results = new TransferResult[3];
        set.Apply([Post(2, 1, 4), Plain(3, Clearing, Fee, 1), Plain(4, Clearing, Wallet, 1)], results, T0);
        // Fee was not loaded, so transfer 3 fails; Wallet neither.
        results.ShouldBe([TransferResult.Created, TransferResult.CreditAccountNotFound, TransferResult.CreditAccountNotFound]);
        set.ChangedAccounts.Select(a => a.Id).ShouldBe([ClosedAccount, Clearing], ignoreOrder: true);
        set.CreatedTransfers.Select(t => t.Id).ShouldBe([Tid(2)]);
        set.ChangedPendingTransfers.Select(t => (t.Id, t.State)).ShouldBe([(Tid(1), PendingState.Posted)]);

        set.AcceptChanges();
        set.ChangedAccounts.ShouldBeEmpty();
        set.CreatedTransfers.ShouldBeEmpty();
        set.ChangedPendingTransfers.ShouldBeEmpty();
    }

    [Fact]
    public void FailedChainLeavesNoTrackedChanges()
    {
        var set = ClosedAccountWithAHold();
        var results = new TransferResult[2];
        set.Apply([Post(2, 1, flags: TransferFlags.Linked), Plain(3, Clearing, ClosedAccount, 1)], results, T0);
        results.ShouldBe([TransferResult.LinkedEventFailed, TransferResult.CreditAccountClosed]);
        set.ChangedAccounts.ShouldBeEmpty();
        set.CreatedTransfers.ShouldBeEmpty();
        set.ChangedPendingTransfers.ShouldBeEmpty();
        set.TryGetTransfer(Tid(1), out var hold).ShouldBeTrue();
        hold.ShouldBe(HoldOnClosed);
    }

    [Fact]
    public void HoldCreatedInTheBatchIsReportedCreatedNotChanged()
    {
        var set = new LedgerWorkingSet([new Account(Clearing, Cny, 1, AccountFlags.None), new Account(Fee, Cny, 1, AccountFlags.None)], []);
        var results = new TransferResult[2];
        set.Apply([Hold(1, Clearing, Fee, 5), Void(2, 1)], results, T0);
        results.ShouldBe([TransferResult.Created, TransferResult.Created]);
        set.CreatedTransfers.Select(t => (t.Id, t.State)).ShouldBe([(Tid(1), PendingState.Voided), (Tid(2), PendingState.None)]);
        set.ChangedPendingTransfers.ShouldBeEmpty();
    }

    [Fact]
    public void PostOfAHoldWhoseAccountsWereNotLoadedIsACallerBug()
    {
        var set = new LedgerWorkingSet([], [HoldOnClosed]);
        var results = new TransferResult[1];
        Should.Throw<InvariantViolationException>(() => set.Apply([Post(2, 1)], results, T0));
    }
}
