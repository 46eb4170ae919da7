using static Qianbao.Ledger.Tests.LedgerFixture;

namespace Qianbao.Ledger.Tests;

/// <summary>Amounts, balances, limits and timeouts at their edges: exactly at a bound succeeds, one past it fails.</summary>
public sealed class BoundaryTests
{
    private const long Max = long.MaxValue;

    [Theory]
    [InlineData(0L, TransferResult.AmountMustBePositive)]
    [InlineData(-1L, TransferResult.AmountMustBePositive)]
    [InlineData(long.MinValue, TransferResult.AmountMustBePositive)]
    [InlineData(1L, TransferResult.Created)]
    [InlineData(long.MaxValue, TransferResult.Created)]
    public void PlainTransferAmount(long amount, TransferResult expected)
    {
        var f = new LedgerFixture();
        f.Apply(Plain(1, Clearing, Fee, amount)).ShouldBe([expected]);
        var moved = expected == TransferResult.Created ? amount : 0;
        f[Clearing].DebitsPosted.ShouldBe(moved);
        f[Fee].CreditsPosted.ShouldBe(moved);
        f.ShouldBeConsistent();
    }

    [Theory]
    [InlineData(0L, TransferResult.AmountMustBePositive)]
    [InlineData(-1L, TransferResult.AmountMustBePositive)]
    [InlineData(1L, TransferResult.Created)]
    [InlineData(long.MaxValue, TransferResult.Created)]
    public void PendingTransferAmount(long amount, TransferResult expected)
    {
        var f = new LedgerFixture();
        f.Apply(Hold(1, Clearing, Fee, amount)).ShouldBe([expected]);
        var held = expected == TransferResult.Created ? amount : 0;
        f[Clearing].DebitsPending.ShouldBe(held);
        f[Fee].CreditsPending.ShouldBe(held);
        f[Clearing].DebitsPosted.ShouldBe(0);
        f.ShouldBeConsistent();
    }

    [Theory]
    [InlineData(0L, 100L)] // zero means the whole hold
    [InlineData(1L, 1L)]
    [InlineData(99L, 99L)]
    [InlineData(100L, 100L)]
    public void PostAmountWithinTheHoldPostsThatMuchAndReleasesTheRest(long postAmount, long posted)
    {
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Wallet, 100));
        f.Apply(Post(2, 1, postAmount)).ShouldBe([TransferResult.Created]);
        f[Clearing].ShouldBe(new Account(Clearing, Cny, 1, AccountFlags.None, DebitsPosted: posted));
        f[Wallet].ShouldBe(new Account(Wallet, Cny, 1, AccountFlags.DebitsMustNotExceedCredits, CreditsPosted: posted));
        f.Ledger.GetTransfer(Tid(2))!.Amount.ShouldBe(posted);
        f.Ledger.GetTransfer(Tid(1))!.State.ShouldBe(PendingState.Posted);
    }

    [Theory]
    [InlineData(101L, TransferResult.ExceedsPendingTransferAmount)]
    [InlineData(long.MaxValue, TransferResult.ExceedsPendingTransferAmount)]
    [InlineData(-1L, TransferResult.AmountMustBePositive)]
    public void PostAmountOutsideTheHoldFails(long postAmount, TransferResult expected)
    {
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Wallet, 100));
        var before = f.Snapshot();
        f.Apply(Post(2, 1, postAmount)).ShouldBe([expected]);
        f.Snapshot().ShouldBeSameAs(before);
    }

    [Fact]
    public void PostOfAHoldOfMaxAmount()
    {
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Fee, Max));
        f.Apply(Post(2, 1, Max)).ShouldBe([TransferResult.Created]);
        f[Clearing].DebitsPosted.ShouldBe(Max);
        f[Clearing].DebitsPending.ShouldBe(0);
        f[Fee].CreditsPosted.ShouldBe(Max);
        f.ShouldBeConsistent();
    }

    [Theory]
    [InlineData(0L, TransferResult.Created)]
    [InlineData(100L, TransferResult.Created)]
    [InlineData(1L, TransferResult.PendingTransferHasDifferentAmount)]
    [InlineData(99L, TransferResult.PendingTransferHasDifferentAmount)]
    [InlineData(101L, TransferResult.PendingTransferHasDifferentAmount)]
    [InlineData(-1L, TransferResult.AmountMustBePositive)]
    public void VoidAmountMustBeZeroOrTheWholeHold(long voidAmount, TransferResult expected)
    {
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Wallet, 100));
        var before = f.Snapshot();
        f.Apply(Void(2, 1, voidAmount)).ShouldBe([expected]);
        if (expected == TransferResult.Created)
        {
            f[Clearing].DebitsPending.ShouldBe(0);
            f[Wallet].CreditsPending.ShouldBe(0);
            f[Wallet].CreditsPosted.ShouldBe(0);
            f.Ledger.GetTransfer(Tid(1))!.State.ShouldBe(PendingState.Voided);
            f.Ledger.GetTransfer(Tid(2))!.Amount.ShouldBe(100);
        }
        else
        {
            f.Snapshot().ShouldBeSameAs(before);
        }
    }

    /// <summary>
    /// Each balance is brought to <c>long.MaxValue - 1</c>; a transfer of 1 then reaches exactly
    /// <c>long.MaxValue</c> and succeeds, and the next transfer of 1 overflows with the named result.
    /// </summary>
    public static TheoryData<string, Transfer, Func<int, Transfer>, TransferResult> Overflows() => new()
    {
        { "debits posted", Plain(1, Clearing, Fee, Max - 1), id => Plain(id, Clearing, Suspense, 1), TransferResult.OverflowsDebitsPosted },
        { "credits posted", Plain(1, Clearing, Fee, Max - 1), id => Plain(id, Suspense, Fee, 1), TransferResult.OverflowsCreditsPosted },
        { "debits pending", Hold(1, Clearing, Fee, Max - 1), id => Hold(id, Clearing, Suspense, 1), TransferResult.OverflowsDebitsPending },
        { "credits pending", Hold(1, Clearing, Fee, Max - 1), id => Hold(id, Suspense, Fee, 1), TransferResult.OverflowsCreditsPending },
        // Posted and pending each fit, but their sum would not.
        { "debits (pending onto posted)", Plain(1, Clearing, Fee, Max - 1), id => Hold(id, Clearing, Suspense, 1), TransferResult.OverflowsDebits },
        { "debits (posted onto pending)", Hold(1, Clearing, Fee, Max - 1), id => Plain(id, Clearing, Suspense, 1), TransferResult.OverflowsDebits },
        { "credits (pending onto posted)", Plain(1, Clearing, Fee, Max - 1), id => Hold(id, Suspense, Fee, 1), TransferResult.OverflowsCredits },
        { "credits (posted onto pending)", Hold(1, Clearing, Fee, Max - 1), id => Plain(id, Suspense, Fee, 1), TransferResult.OverflowsCredits },
    };

    [Theory]
    [MemberData(nameof(Overflows))]
    public void BalanceExactlyAtMaxSucceedsAndOnePastOverflows(string balance, Transfer arrange, Func<int, Transfer> one, TransferResult overflow)
    {
        var f = new LedgerFixture();
        f.Arrange(arrange);
        f.Apply(one(2)).ShouldBe([TransferResult.Created], balance);
        f.ShouldBeConsistent();
        var before = f.Snapshot();

        f.Apply(one(3)).ShouldBe([overflow], balance);

        f.Snapshot().ShouldBeSameAs(before);
        f.ShouldBeConsistent();
    }

    [Fact]
    public void PostingAHoldIntoFullBalancesNeverOverflows()
    {
        // Pending + posted never exceeds long.MaxValue, so moving a hold into posted cannot overflow.
        var f = new LedgerFixture();
        f.Arrange(Plain(1, Clearing, Fee, Max - 10), Hold(2, Clearing, Fee, 10));
        f.Apply(Post(3, 2)).ShouldBe([TransferResult.Created]);
        f[Clearing].DebitsPosted.ShouldBe(Max);
        f[Fee].CreditsPosted.ShouldBe(Max);
        f.ShouldBeConsistent();
    }

    [Fact]
    public void DebitsMustNotExceedCreditsExactlyAtTheLimit()
    {
        var f = new LedgerFixture();
        f.Fund(1, Wallet, 100);
        f.Apply(Plain(2, Wallet, Merchant, 100)).ShouldBe([TransferResult.Created]);
        f[Wallet].CreditBalanceAvailable.ShouldBe(0);
        var before = f.Snapshot();
        f.Apply(Plain(3, Wallet, Merchant, 1)).ShouldBe([TransferResult.ExceedsCredits]);
        f.Apply(Hold(4, Wallet, Merchant, 1)).ShouldBe([TransferResult.ExceedsCredits]);
        f.Snapshot().ShouldBeSameAs(before);
    }

    [Fact]
    public void DebitsMustNotExceedCreditsCountsPendingDebits()
    {
        var f = new LedgerFixture();
        f.Fund(1, Wallet, 100);
        f.Apply(Hold(2, Wallet, Merchant, 60), Plain(3, Wallet, Merchant, 40)).ShouldBe([TransferResult.Created, TransferResult.Created]);
        f[Wallet].CreditBalanceAvailable.ShouldBe(0);
        f.Apply(Plain(4, Wallet, Merchant, 1)).ShouldBe([TransferResult.ExceedsCredits]);
        // Pending credits are not spendable: a hold towards the wallet does not raise its limit.
        f.Arrange(Hold(5, Clearing, Wallet, 50));
        f.Apply(Plain(6, Wallet, Merchant, 1)).ShouldBe([TransferResult.ExceedsCredits]);
        // Voiding the outgoing hold gives back exactly its amount.
        f.Arrange(Void(7, 2));
        f.Apply(Plain(8, Wallet, Merchant, 61)).ShouldBe([TransferResult.ExceedsCredits]);
        f.Apply(Plain(9, Wallet, Merchant, 60)).ShouldBe([TransferResult.Created]);
        f.ShouldBeConsistent();
    }

    [Fact]
    public void DebitsMustNotExceedCreditsNearMaxBalances()
    {
        var f = new LedgerFixture();
        f.Fund(1, Wallet, Max - 1);
        f.Apply(Hold(2, Wallet, Merchant, Max - 2)).ShouldBe([TransferResult.Created]);
        // Debits would total long.MaxValue: representable, but one over the credits.
        f.Apply(Plain(3, Wallet, Merchant, 2)).ShouldBe([TransferResult.ExceedsCredits]);
        f.Apply(Plain(4, Wallet, Merchant, 1)).ShouldBe([TransferResult.Created]);
        f[Wallet].CreditBalanceAvailable.ShouldBe(0);
        f.ShouldBeConsistent();
    }

    [Fact]
    public void DebitsPastMaxOverflowBeforeTheLimitIsChecked()
    {
        var f = new LedgerFixture();
        f.Fund(1, Wallet, Max);
        f.Apply(Hold(2, Wallet, Merchant, Max - 1)).ShouldBe([TransferResult.Created]);
        f.Apply(Plain(3, Wallet, Merchant, 2)).ShouldBe([TransferResult.OverflowsDebits]);
        f.Apply(Plain(4, Wallet, Merchant, 1)).ShouldBe([TransferResult.Created]);
        f.Apply(Plain(5, Wallet, Merchant, 1)).ShouldBe([TransferResult.OverflowsDebits]);
        f[Wallet].CreditBalanceAvailable.ShouldBe(0);
        f.ShouldBeConsistent();
    }

    [Fact]
    public void CreditsMustNotExceedDebitsExactlyAtTheLimit()
    {
        var f = new LedgerFixture();
        f.Arrange(Plain(1, Capped, Fee, 100));
        f.Apply(Plain(2, Clearing, Capped, 100)).ShouldBe([TransferResult.Created]);
        var before = f.Snapshot();
        f.Apply(Plain(3, Clearing, Capped, 1)).ShouldBe([TransferResult.ExceedsDebits]);
        f.Apply(Hold(4, Clearing, Capped, 1)).ShouldBe([TransferResult.ExceedsDebits]);
        f.Snapshot().ShouldBeSameAs(before);
    }

    [Fact]
    public void CreditsMustNotExceedDebitsCountsPendingCredits()
    {
        var f = new LedgerFixture();
        f.Arrange(Plain(1, Capped, Fee, 100));
        f.Apply(Hold(2, Clearing, Capped, 70), Plain(3, Clearing, Capped, 30)).ShouldBe([TransferResult.Created, TransferResult.Created]);
        f.Apply(Hold(4, Clearing, Capped, 1)).ShouldBe([TransferResult.ExceedsDebits]);
        // Pending debits do not count as debits for the limit.
        f.Arrange(Hold(5, Capped, Fee, 10));
        f.Apply(Plain(6, Clearing, Capped, 1)).ShouldBe([TransferResult.ExceedsDebits]);
        f.ShouldBeConsistent();
    }

    [Fact]
    public void ExceedsCreditsIsCheckedBeforeExceedsDebits()
    {
        var f = new LedgerFixture();
        f.Apply(Plain(1, Wallet, Capped, 1)).ShouldBe([TransferResult.ExceedsCredits]);
    }

    [Fact]
    public void OverflowIsReportedBeforeLimits()
    {
        var f = new LedgerFixture();
        f.Arrange(Plain(1, Clearing, Fee, Max));
        // The wallet has nothing, but the credit side overflows first.
        f.Apply(Plain(2, Wallet, Fee, 1)).ShouldBe([TransferResult.OverflowsCreditsPosted]);
    }

    [Theory]
    [InlineData(0u, TransferResult.Created)]
    [InlineData(1u, TransferResult.Created)]
    [InlineData(Transfer.TimeoutSecondsMax, TransferResult.Created)]
    [InlineData(Transfer.TimeoutSecondsMax + 1, TransferResult.TimeoutTooLong)]
    [InlineData(uint.MaxValue, TransferResult.TimeoutTooLong)]
    public void PendingTimeout(uint timeoutSeconds, TransferResult expected)
    {
        var f = new LedgerFixture();
        f.Apply(Hold(1, Clearing, Wallet, 10, timeoutSeconds)).ShouldBe([expected]);
        if (expected == TransferResult.Created)
        {
            var record = f.Ledger.GetTransfer(Tid(1))!;
            record.TimeoutSeconds.ShouldBe(timeoutSeconds);
            record.ExpiresAtUs.ShouldBe(timeoutSeconds == 0 ? 0 : T0 + timeoutSeconds * Second);
        }
        else
        {
            f.Ledger.GetTransfer(Tid(1)).ShouldBeNull();
            f[Clearing].DebitsPending.ShouldBe(0);
        }
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(Transfer.TimeoutSecondsMax)]
    [InlineData(uint.MaxValue)]
    public void TimeoutOnANonPendingTransferIsRejected(uint timeoutSeconds)
    {
        var f = new LedgerFixture();
        f.Apply(Plain(1, Clearing, Wallet, 10) with { TimeoutSeconds = timeoutSeconds }).ShouldBe([TransferResult.TimeoutReservedForPendingTransfer]);
        f.Arrange(Hold(2, Clearing, Wallet, 10));
        f.Apply(Post(3, 2) with { TimeoutSeconds = timeoutSeconds }).ShouldBe([TransferResult.TimeoutReservedForPendingTransfer]);
        f.Apply(Void(4, 2) with { TimeoutSeconds = timeoutSeconds }).ShouldBe([TransferResult.TimeoutReservedForPendingTransfer]);
    }

    [Fact]
    public void ZeroTimeoutNeverExpires()
    {
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Wallet, 10, timeoutSeconds: 0));
        f.Now += 100L * 365 * 24 * 3600 * Second;
        f.Apply(Post(2, 1)).ShouldBe([TransferResult.Created]);
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(Transfer.TimeoutSecondsMax)]
    public void HoldIsLiveOneMicrosecondBeforeExpiry(uint timeoutSeconds)
    {
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Wallet, 10, timeoutSeconds));
        f.Now = T0 + timeoutSeconds * Second - 1;
        f.Apply(Post(2, 1)).ShouldBe([TransferResult.Created]);
        f[Wallet].CreditsPosted.ShouldBe(10);
    }

    [Theory]
    [InlineData(1u, 0L, true)]
    [InlineData(1u, 1L, true)]
    [InlineData(Transfer.TimeoutSecondsMax, 0L, true)]
    [InlineData(Transfer.TimeoutSecondsMax, 1L, false)]
    [InlineData(1u, 3600L * 1_000_000, false)]
    public void PostOrVoidAtOrAfterExpiryExpiresTheHold(uint timeoutSeconds, long afterExpiryUs, bool post)
    {
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Wallet, 10, timeoutSeconds));
        var logBefore = f.Ledger.Transfers.Select(t => t.Id).ToArray();
        f.Now = T0 + timeoutSeconds * Second + afterExpiryUs;

        f.Apply(post ? Post(2, 1) : Void(2, 1)).ShouldBe([TransferResult.PendingTransferExpired]);

        f.Ledger.GetTransfer(Tid(1))!.State.ShouldBe(PendingState.Expired);
        f.Ledger.GetTransfer(Tid(2)).ShouldBeNull();
        f.Ledger.Transfers.Select(t => t.Id).ShouldBe(logBefore);
        f[Clearing].ShouldBe(new Account(Clearing, Cny, 1, AccountFlags.None));
        f[Wallet].ShouldBe(new Account(Wallet, Cny, 1, AccountFlags.DebitsMustNotExceedCredits));
        f.ShouldBeConsistent();

        // Once expired, it stays expired and nothing more is released.
        var before = f.Snapshot();
        f.Apply(Post(3, 1)).ShouldBe([TransferResult.PendingTransferExpired]);
        f.Apply(Void(4, 1)).ShouldBe([TransferResult.PendingTransferExpired]);
        f.Snapshot().ShouldBeSameAs(before);
    }

    [Fact]
    public void LapsedHoldKeepsReservingUntilAPostOrVoidTouchesIt()
    {
        // Expiry is lazy: nothing releases a lapsed hold until a post or void names it.
        var f = new LedgerFixture();
        f.Fund(1, Wallet, 100);
        f.Arrange(Hold(2, Wallet, Merchant, 100, timeoutSeconds: 1));
        f.Now += 10 * Second;
        f.Apply(Plain(3, Wallet, Fee, 1)).ShouldBe([TransferResult.ExceedsCredits]);
        f[Wallet].CreditBalanceAvailable.ShouldBe(0);
        f.Ledger.GetTransfer(Tid(2))!.State.ShouldBe(PendingState.Pending);

        f.Apply(Void(4, 2)).ShouldBe([TransferResult.PendingTransferExpired]);
        f[Wallet].CreditBalanceAvailable.ShouldBe(100);
    }

    [Fact]
    public void ExpiryIsMeasuredFromTheHoldsCommitTime()
    {
        var f = new LedgerFixture();
        f.Now = T0 + 7 * Second;
        f.Arrange(Hold(1, Clearing, Wallet, 10, timeoutSeconds: 5));
        f.Ledger.GetTransfer(Tid(1))!.ExpiresAtUs.ShouldBe(T0 + 12 * Second);
        f.Now = T0 + 12 * Second - 1;
        f.Apply(Void(2, 1)).ShouldBe([TransferResult.Created]);
    }

    [Fact]
    public void ReferenceAtItsMaximumLengthIsAccepted()
    {
        var f = new LedgerFixture();
        var reference = new string('r', Transfer.ReferenceLengthMax);
        f.Apply(Plain(1, Clearing, Wallet, 10) with { Reference = reference }).ShouldBe([TransferResult.Created]);
        f.Ledger.GetTransfer(Tid(1))!.Reference.ShouldBe(reference);
    }

    [Fact]
    public void EmptyBatchAnswersNothingAndChangesNothing()
    {
        var f = new LedgerFixture();
        var before = f.Snapshot();
        f.Apply().ShouldBeEmpty();
        f.Snapshot().ShouldBeSameAs(before);
    }
}
