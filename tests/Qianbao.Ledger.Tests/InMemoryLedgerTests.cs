using static Qianbao.Ledger.Tests.LedgerFixture;

namespace Qianbao.Ledger.Tests;

public sealed class InMemoryLedgerTests
{
    [Fact]
    public void TransferLogShowsWhatBecameOfAHoldPostedInALaterBatch()
    {
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Wallet, 10));
        f.Arrange(Post(2, 1));
        f.Ledger.GetTransfer(Tid(1))!.State.ShouldBe(PendingState.Posted);
        f.Ledger.Transfers.Single(t => t.Id == Tid(1)).ShouldBe(f.Ledger.GetTransfer(Tid(1)));
    }

    [Fact]
    public void TransferLogDoesNotDependOnHowRequestsWereBatched()
    {
        var together = new LedgerFixture();
        together.Arrange(Hold(1, Clearing, Wallet, 10), Hold(2, Clearing, Wallet, 5), Post(3, 1, 4), Void(4, 2));
        var apart = new LedgerFixture();
        apart.Arrange(Hold(1, Clearing, Wallet, 10));
        apart.Arrange(Hold(2, Clearing, Wallet, 5));
        apart.Arrange(Post(3, 1, 4));
        apart.Arrange(Void(4, 2));
        apart.Ledger.Transfers.ShouldBe(together.Ledger.Transfers);
        apart.Snapshot().Accounts.ShouldBe(together.Snapshot().Accounts);
    }

    [Fact]
    public void RecordedTransferCarriesResolvedFieldsAndTheCommitTime()
    {
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Wallet, 10, timeoutSeconds: 60) with { Reference = "top-up 1", Code = 7 });
        f.Now += 3 * Second;
        f.Arrange(Post(2, 1, 6) with { Reference = "confirmed", Code = 8 });

        f.Ledger.GetTransfer(Tid(1)).ShouldBe(new TransferRecord(Tid(1), Clearing, Wallet, 10, Cny, 7, TransferFlags.Pending,
            default, 60, "top-up 1", T0, PendingState.Posted));
        f.Ledger.GetTransfer(Tid(2)).ShouldBe(new TransferRecord(Tid(2), Clearing, Wallet, 6, Cny, 8, TransferFlags.PostPending,
            Tid(1), 0, "confirmed", T0 + 3 * Second, PendingState.None));
    }

    [Fact]
    public void ReplayWithZeroAccountsAndAmountMatchesTheResolvedPost()
    {
        var f = new LedgerFixture();
        f.Arrange(Hold(1, Clearing, Wallet, 10), Post(2, 1));
        var before = f.Snapshot();
        f.Apply(Post(2, 1)).ShouldBe([TransferResult.Exists]);
        f.Apply(Post(2, 1, 10) with { DebitAccountId = Clearing, CreditAccountId = Wallet }).ShouldBe([TransferResult.Exists]);
        f.Apply(Post(2, 1, 9)).ShouldBe([TransferResult.ExistsWithDifferentAmount]);
        f.Apply(Post(2, 1) with { DebitAccountId = Fee }).ShouldBe([TransferResult.ExistsWithDifferentDebitAccountId]);
        f.Snapshot().ShouldBeSameAs(before);
    }

    [Fact]
    public void NullAndEmptyReferenceAreTheSameOnReplay()
    {
        var f = new LedgerFixture();
        f.Arrange(Plain(1, Clearing, Wallet, 10) with { Reference = null });
        f.Apply(Plain(1, Clearing, Wallet, 10) with { Reference = "" }).ShouldBe([TransferResult.Exists]);
    }

    [Fact]
    public void ClosedAccountStillSettlesHoldsOnlyThroughPostAndVoid()
    {
        // An account can only be created closed, so it never has a hold; both sides of a new transfer are refused.
        var f = new LedgerFixture();
        f.Apply(Hold(1, ClosedAccount, Fee, 1), Hold(2, Clearing, ClosedAccount, 1))
            .ShouldBe([TransferResult.DebitAccountClosed, TransferResult.CreditAccountClosed]);
    }

    [Fact]
    public void GetAccountOfAnUnknownIdThrows() =>
        Should.Throw<KeyNotFoundException>(() => new LedgerFixture().Ledger.GetAccount(Missing));

    [Fact]
    public void TotalsArePerCurrencyAndBalanced()
    {
        var f = new LedgerFixture();
        var usdWallet = Aid(20);
        f.Ledger.CreateAccount(new Account(usdWallet, Usd, 1, AccountFlags.DebitsMustNotExceedCredits)).ShouldBe(CreateAccountResult.Created);
        f.Arrange(Plain(1, Clearing, Wallet, 10), Hold(2, Clearing, Fee, long.MaxValue - 10),
            new Transfer(Tid(3), UsdClearing, usdWallet, 5, Usd, 1));
        var totals = f.Ledger.Totals([.. AllAccounts, usdWallet]);
        totals.Select(t => t.Currency).ShouldBe(["CNY", "USD"]);
        totals[0].ShouldBe(new LedgerTotals("CNY", 10, 10, long.MaxValue - 10, long.MaxValue - 10));
        totals[1].ShouldBe(new LedgerTotals("USD", 5, 5, 0, 0));
        totals.ShouldAllBe(t => t.IsBalanced);
    }

    [Fact]
    public void TotalsDoNotOverflowOverManyMaximalBalances()
    {
        var accounts = Enumerable.Range(0, 4).Select(i => new Account(Aid(i + 1), Cny, 1, AccountFlags.None,
            DebitsPosted: long.MaxValue, CreditsPosted: i % 2 == 0 ? long.MaxValue : 0)).ToList();
        var totals = LedgerTotals.Sum(accounts).Single();
        totals.DebitsPosted.ShouldBe((Int128)long.MaxValue * 4);
        totals.CreditsPosted.ShouldBe((Int128)long.MaxValue * 2);
        totals.IsBalanced.ShouldBeFalse();
    }

    [Theory]
    [InlineData(AccountFlags.None, 0, 0, 0, 0, true)]
    [InlineData(AccountFlags.DebitsMustNotExceedCredits, 60, 100, 40, 0, true)]
    [InlineData(AccountFlags.DebitsMustNotExceedCredits, 60, 100, 41, 0, false)]
    [InlineData(AccountFlags.DebitsMustNotExceedCredits, 0, 0, 0, 99, true)]
    [InlineData(AccountFlags.CreditsMustNotExceedDebits, 100, 60, 0, 40, true)]
    [InlineData(AccountFlags.CreditsMustNotExceedDebits, 100, 60, 0, 41, false)]
    [InlineData(AccountFlags.CreditsMustNotExceedDebits, 0, 0, 99, 0, true)]
    [InlineData(AccountFlags.None, -1, 0, 0, 0, false)]
    [InlineData(AccountFlags.None, 0, 0, 0, -1, false)]
    public void BalancesAreValidFollowsTheFlags(AccountFlags flags, long dp, long cp, long dpend, long cpend, bool valid) =>
        new Account(Clearing, Cny, 1, flags, dp, cp, dpend, cpend).BalancesAreValid.ShouldBe(valid);
}

public sealed class CreateAccountTests
{
    private static readonly Account Wallet = new(Aid(1), Cny, 10, AccountFlags.DebitsMustNotExceedCredits);

    public static TheoryData<Account, CreateAccountResult> Cases() => new()
    {
        { Wallet, CreateAccountResult.Exists },
        { Wallet with { Flags = Wallet.Flags | AccountFlags.Closed }, CreateAccountResult.Exists },
        { Wallet with { Currency = Usd }, CreateAccountResult.ExistsWithDifferentCurrency },
        { Wallet with { Code = 11 }, CreateAccountResult.ExistsWithDifferentCode },
        { Wallet with { Flags = AccountFlags.None }, CreateAccountResult.ExistsWithDifferentFlags },
        { Wallet with { Id = default }, CreateAccountResult.IdMustNotBeZero },
        { Wallet with { Code = 0 }, CreateAccountResult.CodeMustNotBeZero },
        { Wallet with { Flags = AccountFlags.DebitsMustNotExceedCredits | AccountFlags.CreditsMustNotExceedDebits }, CreateAccountResult.FlagsAreMutuallyExclusive },
        { Wallet with { CreditsPosted = 1 }, CreateAccountResult.BalancesMustBeZero },
        { Wallet with { DebitsPending = 1 }, CreateAccountResult.BalancesMustBeZero },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SecondCreateAnswers(Account second, CreateAccountResult expected)
    {
        var ledger = new InMemoryLedger();
        ledger.CreateAccount(Wallet).ShouldBe(CreateAccountResult.Created);
        ledger.CreateAccount(second).ShouldBe(expected);
        ledger.GetAccount(Wallet.Id).ShouldBe(Wallet);
    }

    [Fact]
    public void EveryCreateAccountResultIsCovered()
    {
        var covered = Cases().Select(row => (CreateAccountResult)row[1]).Append(CreateAccountResult.Created).ToHashSet();
        Enum.GetValues<CreateAccountResult>().Where(r => !covered.Contains(r)).ShouldBeEmpty();
    }
}
