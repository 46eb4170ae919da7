namespace Qianbao.Ledger.Tests;

/// <summary>
/// A small chart of accounts and request builders shared by the example-based tests. Ids are small
/// integers turned into Guids so that failures read easily (transfer 7 is <c>00000007-…</c>).
/// </summary>
internal sealed class LedgerFixture
{
    /// <summary>An arbitrary but fixed commit time: 2023-11-14T22:13:20Z in Unix microseconds.</summary>
    public const long T0 = 1_700_000_000_000_000;

    public const long Second = 1_000_000;

    public static readonly Currency Cny = Currency.Cny;
    public static readonly Currency Usd = Currency.Parse("USD");
    public static readonly Currency Jpy = Currency.Parse("JPY");

    /// <summary>Channel clearing: debit-normal, unlimited; the source of money in most tests.</summary>
    public static readonly AccountId Clearing = Aid(1);
    /// <summary>A user wallet: debits must not exceed credits.</summary>
    public static readonly AccountId Wallet = Aid(2);
    /// <summary>A merchant settlement account: debits must not exceed credits.</summary>
    public static readonly AccountId Merchant = Aid(3);
    /// <summary>Credits must not exceed debits.</summary>
    public static readonly AccountId Capped = Aid(4);
    /// <summary>Created closed: takes no new transfers.</summary>
    public static readonly AccountId ClosedAccount = Aid(5);
    /// <summary>Unlimited CNY account (fee revenue).</summary>
    public static readonly AccountId Fee = Aid(6);
    /// <summary>Unlimited USD account.</summary>
    public static readonly AccountId UsdClearing = Aid(7);
    /// <summary>A second unlimited CNY account, so that overflow tests can use two unflagged counterparties.</summary>
    public static readonly AccountId Suspense = Aid(8);
    /// <summary>Never created.</summary>
    public static readonly AccountId Missing = Aid(99);

    public static readonly AccountId[] AllAccounts = [Clearing, Wallet, Merchant, Capped, ClosedAccount, Fee, UsdClearing, Suspense];

    public InMemoryLedger Ledger { get; } = new();

    public long Now { get; set; } = T0;

    public LedgerFixture()
    {
        Create(Clearing, Cny, AccountFlags.None);
        Create(Wallet, Cny, AccountFlags.DebitsMustNotExceedCredits);
        Create(Merchant, Cny, AccountFlags.DebitsMustNotExceedCredits);
        Create(Capped, Cny, AccountFlags.CreditsMustNotExceedDebits);
        Create(ClosedAccount, Cny, AccountFlags.Closed);
        Create(Fee, Cny, AccountFlags.None);
        Create(UsdClearing, Usd, AccountFlags.None);
        Create(Suspense, Cny, AccountFlags.None);
    }

    private void Create(AccountId id, Currency currency, AccountFlags flags) =>
        Ledger.CreateAccount(new Account(id, currency, Code: 1, flags)).ShouldBe(CreateAccountResult.Created);

    public static AccountId Aid(int n) => new(new Guid($"a0000000-0000-0000-0000-{n:D12}"));

    public static TransferId Tid(int n) => new(new Guid(n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));

    public static Transfer Plain(int id, AccountId dr, AccountId cr, long amount, TransferFlags flags = TransferFlags.None) =>
        new(Tid(id), dr, cr, amount, Cny, Code: 1, flags);

    public static Transfer Hold(int id, AccountId dr, AccountId cr, long amount, uint timeoutSeconds = 0, TransferFlags flags = TransferFlags.None) =>
        new(Tid(id), dr, cr, amount, Cny, Code: 1, flags | TransferFlags.Pending, TimeoutSeconds: timeoutSeconds);

    /// <summary>A post that leaves accounts zero (taken from the pending transfer); amount 0 posts the whole hold.</summary>
    public static Transfer Post(int id, int pendingId, long amount = 0, TransferFlags flags = TransferFlags.None) =>
        new(Tid(id), default, default, amount, Cny, Code: 1, flags | TransferFlags.PostPending, Tid(pendingId));

    public static Transfer Void(int id, int pendingId, long amount = 0, TransferFlags flags = TransferFlags.None) =>
        new(Tid(id), default, default, amount, Cny, Code: 1, flags | TransferFlags.VoidPending, Tid(pendingId));

    /// <summary>Applies a batch at <see cref="Now"/>.</summary>
    public TransferResult[] Apply(params Transfer[] batch) => Ledger.CreateTransfers(batch, Now);

    /// <summary>Applies a batch that must succeed entirely (arrangement, not the behaviour under test).</summary>
    public void Arrange(params Transfer[] batch)
    {
        var results = Apply(batch);
        results.ShouldAllBe(r => r == TransferResult.Created, "arrangement failed: " + string.Join(", ", results));
    }

    /// <summary>Funds <paramref name="account"/> from clearing with a posted transfer.</summary>
    public void Fund(int id, AccountId account, long amount) => Arrange(Plain(id, Clearing, account, amount));

    public Account this[AccountId id] => Ledger.GetAccount(id);

    public LedgerSnapshot Snapshot() => LedgerSnapshot.Of(Ledger);

    public void ShouldBeConsistent()
    {
        foreach (var totals in Ledger.Totals(AllAccounts)) totals.IsBalanced.ShouldBeTrue(totals.ToString());
        foreach (var id in AllAccounts) this[id].BalancesAreValid.ShouldBeTrue(this[id].ToString());
    }
}

/// <summary>
/// Everything observable about an <see cref="InMemoryLedger"/> through its public API for the fixture's
/// accounts and transfer ids 1..<see cref="TransferIdsObserved"/>: balances, the transfer log, and the
/// current record behind every id.
/// </summary>
internal sealed record LedgerSnapshot(Account[] Accounts, TransferRecord[] Log, TransferRecord?[] ById)
{
    public const int TransferIdsObserved = 64;

    public static LedgerSnapshot Of(InMemoryLedger ledger) => new(
        LedgerFixture.AllAccounts.Select(ledger.GetAccount).ToArray(),
        ledger.Transfers.ToArray(),
        Enumerable.Range(1, TransferIdsObserved).Select(n => ledger.GetTransfer(LedgerFixture.Tid(n))).ToArray());

    public void ShouldBeSameAs(LedgerSnapshot other)
    {
        Accounts.ShouldBe(other.Accounts, "balances changed");
        Log.ShouldBe(other.Log, "transfer log changed");
        ById.ShouldBe(other.ById, "a transfer record changed");
    }
}
