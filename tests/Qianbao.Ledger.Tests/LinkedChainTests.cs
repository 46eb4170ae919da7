using static Qianbao.Ledger.Tests.LedgerFixture;

namespace Qianbao.Ledger.Tests;

/// <summary>Linked chains succeed or fail whole, and never affect the requests around them.</summary>
public sealed class LinkedChainTests
{
    private const TransferFlags L = TransferFlags.Linked;
    private const TransferResult Ok = TransferResult.Created;
    private const TransferResult Failed = TransferResult.LinkedEventFailed;

    [Fact]
    public void ChainWhoseEventsAllSucceedIsApplied()
    {
        var f = new LedgerFixture();
        // A payment: top-up, pay the merchant, take a fee, each relying on the previous one.
        f.Apply(
                Plain(1, Clearing, Wallet, 100, L),
                Plain(2, Wallet, Merchant, 100, L),
                Plain(3, Merchant, Fee, 3))
            .ShouldBe([Ok, Ok, Ok]);
        f[Wallet].CreditBalanceAvailable.ShouldBe(0);
        f[Merchant].CreditBalanceAvailable.ShouldBe(97);
        f[Fee].CreditsPosted.ShouldBe(3);
        f.Ledger.Transfers.Select(t => t.Id).ShouldBe([Tid(1), Tid(2), Tid(3)]);
        f.ShouldBeConsistent();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void FailureAnywhereInAChainRollsBackEveryEvent(int failingIndex)
    {
        var f = new LedgerFixture();
        f.Fund(50, Wallet, 10);
        f.Arrange(Hold(51, Clearing, Merchant, 20));
        var before = f.Snapshot();
        Transfer[] chain =
        [
            Plain(1, Clearing, Wallet, 100, L),
            Hold(2, Wallet, Merchant, 30, flags: L),
            Post(3, 51, flags: L),
            Plain(4, Merchant, Fee, 5),
        ];
        // The failing event overdraws the wallet by one, counting whatever the chain did before it.
        long[] availableBefore = [10, 110, 80, 80];
        chain[failingIndex] = Plain(9, Wallet, Fee, availableBefore[failingIndex] + 1, failingIndex < 3 ? L : TransferFlags.None);

        var results = f.Apply(chain);

        var expected = Enumerable.Repeat(Failed, chain.Length).ToArray();
        expected[failingIndex] = TransferResult.ExceedsCredits;
        results.ShouldBe(expected);
        f.Snapshot().ShouldBeSameAs(before);
        f.Ledger.GetTransfer(Tid(51))!.State.ShouldBe(PendingState.Pending);
        f.ShouldBeConsistent();
    }

    [Fact]
    public void TheSameEventSucceedsOnceTheChainIsFixed()
    {
        // Proves the rolled-back ids are free again: nothing of the failed chain was recorded.
        var f = new LedgerFixture();
        f.Apply(Plain(1, Clearing, Wallet, 100, L), Plain(2, Wallet, Merchant, 101)).ShouldBe([Failed, TransferResult.ExceedsCredits]);
        f.Apply(Plain(1, Clearing, Wallet, 100, L), Plain(2, Wallet, Merchant, 100)).ShouldBe([Ok, Ok]);
        f[Merchant].CreditsPosted.ShouldBe(100);
    }

    [Fact]
    public void ExistsInsideAChainCountsAsSuccess()
    {
        var f = new LedgerFixture();
        f.Fund(1, Wallet, 100);
        f.Apply(Plain(3, Wallet, Merchant, 30, L), Plain(1, Clearing, Wallet, 100)).ShouldBe([Ok, TransferResult.Exists]);
        f[Merchant].CreditsPosted.ShouldBe(30);
        f[Wallet].CreditsPosted.ShouldBe(100);
        f.Ledger.Transfers.Select(t => t.Id).ShouldBe([Tid(1), Tid(3)]);
    }

    [Fact]
    public void ExistsWithADifferentFieldInsideAChainFailsIt()
    {
        var f = new LedgerFixture();
        f.Fund(1, Wallet, 100);
        var before = f.Snapshot();
        // Same id and fields, but now Linked: a different transfer.
        f.Apply(Plain(1, Clearing, Wallet, 100, L), Plain(2, Wallet, Merchant, 30))
            .ShouldBe([TransferResult.ExistsWithDifferentFlags, Failed]);
        f.Snapshot().ShouldBeSameAs(before);
    }

    [Fact]
    public void ExistsInsideAChainDoesNotSaveAFailingChain()
    {
        var f = new LedgerFixture();
        f.Arrange(Plain(1, Clearing, Wallet, 100, L), Plain(2, Clearing, Fee, 1));
        var before = f.Snapshot();
        f.Apply(Plain(1, Clearing, Wallet, 100, L), Plain(3, Wallet, Merchant, 101)).ShouldBe([Failed, TransferResult.ExceedsCredits]);
        f.Snapshot().ShouldBeSameAs(before);
    }

    [Fact]
    public void EventRepeatedInsideItsOwnChainAnswersExists()
    {
        var f = new LedgerFixture();
        f.Apply(Plain(1, Clearing, Wallet, 100, L), Plain(1, Clearing, Wallet, 100, L), Plain(2, Wallet, Merchant, 100))
            .ShouldBe([Ok, TransferResult.Exists, Ok]);
        f[Wallet].CreditsPosted.ShouldBe(100);
    }

    [Fact]
    public void ChainOpenAtTheEndOfTheBatchFails()
    {
        var f = new LedgerFixture();
        var before = f.Snapshot();
        f.Apply(Plain(1, Clearing, Wallet, 100, L), Plain(2, Wallet, Merchant, 50, L))
            .ShouldBe([Failed, TransferResult.LinkedEventChainOpen]);
        f.Snapshot().ShouldBeSameAs(before);
    }

    [Fact]
    public void SingleLinkedEventAtTheEndIsAnOpenChain()
    {
        var f = new LedgerFixture();
        f.Apply(Plain(1, Clearing, Fee, 5), Plain(2, Clearing, Wallet, 100, L)).ShouldBe([Ok, TransferResult.LinkedEventChainOpen]);
        f.Ledger.GetTransfer(Tid(1)).ShouldNotBeNull();
        f.Ledger.GetTransfer(Tid(2)).ShouldBeNull();
        f[Wallet].CreditsPosted.ShouldBe(0);
    }

    [Fact]
    public void ChainDoesNotContinueIntoTheNextBatch()
    {
        var f = new LedgerFixture();
        f.Apply(Plain(1, Clearing, Wallet, 100, L)).ShouldBe([TransferResult.LinkedEventChainOpen]);
        // The next batch starts afresh: a single event is its own transfer.
        f.Apply(Plain(2, Clearing, Fee, 1)).ShouldBe([Ok]);
        f.Ledger.GetTransfer(Tid(1)).ShouldBeNull();
    }

    [Fact]
    public void FailingChainDoesNotAffectIndependentNeighbours()
    {
        var f = new LedgerFixture();
        var results = f.Apply(
            Plain(1, Clearing, Wallet, 10),
            Plain(2, Clearing, Merchant, 100, L),
            Plain(3, Merchant, Fee, 100, L),
            Plain(4, Wallet, Fee, 11),
            Plain(5, Wallet, Fee, 10),
            Plain(6, Clearing, Suspense, 7));
        results.ShouldBe([Ok, Failed, Failed, TransferResult.ExceedsCredits, Ok, Ok]);

        // Exactly the effect of the neighbours on their own.
        var g = new LedgerFixture();
        g.Arrange(Plain(1, Clearing, Wallet, 10), Plain(5, Wallet, Fee, 10), Plain(6, Clearing, Suspense, 7));
        f.Snapshot().Accounts.ShouldBe(g.Snapshot().Accounts);
        f.Ledger.Transfers.Select(t => t.Id).ShouldBe([Tid(1), Tid(5), Tid(6)]);
        f.ShouldBeConsistent();
    }

    [Fact]
    public void NeighbourAfterAFailedChainSeesNoneOfItsEffects()
    {
        var f = new LedgerFixture();
        f.Apply(
                Plain(1, Clearing, Wallet, 100, L),
                Plain(2, Clearing, ClosedAccount, 1),
                Plain(3, Wallet, Merchant, 1))
            .ShouldBe([Failed, TransferResult.CreditAccountClosed, TransferResult.ExceedsCredits]);
    }

    [Fact]
    public void ConsecutiveChainsAreIndependent()
    {
        var f = new LedgerFixture();
        f.Apply(
                Plain(1, Clearing, Wallet, 100, L), Plain(2, Wallet, Merchant, 200),
                Plain(3, Clearing, Wallet, 100, L), Plain(4, Wallet, Merchant, 100),
                Plain(5, Clearing, Wallet, 1, L), Plain(6, Clearing, Missing, 1, L), Plain(7, Clearing, Fee, 1))
            .ShouldBe([Failed, TransferResult.ExceedsCredits, Ok, Ok, Failed, TransferResult.CreditAccountNotFound, Failed]);
        f[Merchant].CreditsPosted.ShouldBe(100);
        f[Fee].CreditsPosted.ShouldBe(0);
        f.Ledger.Transfers.Select(t => t.Id).ShouldBe([Tid(3), Tid(4)]);
    }

    [Fact]
    public void PendingCreatedAndPostedInTheSameBatch()
    {
        var f = new LedgerFixture();
        f.Apply(Hold(1, Clearing, Wallet, 100), Post(2, 1, 60), Plain(3, Wallet, Merchant, 60)).ShouldBe([Ok, Ok, Ok]);
        f.Ledger.GetTransfer(Tid(1))!.State.ShouldBe(PendingState.Posted);
        f[Clearing].ShouldBe(new Account(Clearing, Cny, 1, AccountFlags.None, DebitsPosted: 60));
        f[Wallet].ShouldBe(new Account(Wallet, Cny, 1, AccountFlags.DebitsMustNotExceedCredits, DebitsPosted: 60, CreditsPosted: 60));
        f.ShouldBeConsistent();
    }

    [Fact]
    public void PendingCreatedAndPostedInAChainThatSucceeds()
    {
        var f = new LedgerFixture();
        f.Apply(Hold(1, Clearing, Wallet, 100, flags: L), Post(2, 1, flags: L), Plain(3, Wallet, Merchant, 100)).ShouldBe([Ok, Ok, Ok]);
        f.Ledger.GetTransfer(Tid(1))!.State.ShouldBe(PendingState.Posted);
        f[Merchant].CreditsPosted.ShouldBe(100);
    }

    [Fact]
    public void PendingCreatedAndPostedInAChainThatFailsLeavesNoTrace()
    {
        var f = new LedgerFixture();
        var before = f.Snapshot();
        f.Apply(Hold(1, Clearing, Wallet, 100, flags: L), Post(2, 1, flags: L), Plain(3, Wallet, Merchant, 101))
            .ShouldBe([Failed, Failed, TransferResult.ExceedsCredits]);
        f.Snapshot().ShouldBeSameAs(before);
        // A later post of the rolled-back hold does not find it.
        f.Apply(Post(4, 1)).ShouldBe([TransferResult.PendingTransferNotFound]);
    }

    [Fact]
    public void FailedChainRestoresAPendingItPostedOrVoided()
    {
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Wallet, 100), Hold(2, Clearing, Wallet, 50));
        var before = f.Snapshot();
        f.Apply(Post(3, 1, 40, L), Void(4, 2, flags: L), Plain(5, Clearing, Capped, 1))
            .ShouldBe([Failed, Failed, TransferResult.ExceedsDebits]);
        f.Snapshot().ShouldBeSameAs(before);
        f.Apply(Post(3, 1, 40), Void(4, 2)).ShouldBe([Ok, Ok]);
        f[Wallet].CreditsPosted.ShouldBe(40);
        f[Wallet].CreditsPending.ShouldBe(0);
    }

    [Fact]
    public void ExpiryInsideAFailedChainIsRolledBackWithTheChain()
    {
        // All or nothing: the post answers PendingTransferExpired, which fails the chain, so even the
        // release of the lapsed hold is undone. A later post outside a chain expires it for good.
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Wallet, 100, timeoutSeconds: 1));
        f.Now += Second;
        var before = f.Snapshot();
        f.Apply(Plain(2, Clearing, Fee, 1, L), Post(3, 1)).ShouldBe([Failed, TransferResult.PendingTransferExpired]);
        f.Snapshot().ShouldBeSameAs(before);

        f.Apply(Post(3, 1)).ShouldBe([TransferResult.PendingTransferExpired]);
        f.Ledger.GetTransfer(Tid(1))!.State.ShouldBe(PendingState.Expired);
        f[Wallet].CreditsPending.ShouldBe(0);
    }

    [Fact]
    public void ExpiryOutsideAChainStandsAndNeighboursSeeTheReleasedHold()
    {
        var f = new LedgerFixture();
        f.Fund(1, Wallet, 100);
        f.Arrange(Hold(2, Wallet, Merchant, 100, timeoutSeconds: 1));
        f.Now += Second;
        f.Apply(Plain(3, Wallet, Fee, 1), Void(4, 2), Plain(5, Wallet, Fee, 100))
            .ShouldBe([TransferResult.ExceedsCredits, TransferResult.PendingTransferExpired, Ok]);
        f[Wallet].CreditBalanceAvailable.ShouldBe(0);
        f.ShouldBeConsistent();
    }
}
