using Qianbao.Bench;
using Qianbao.Ledger;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Ledger;

/// <summary>
/// The executor's batching shortcuts keep the ledger's rules: a replayed transfer id gets its stored result although the
/// first attempt of a batch assumes new ids (PostgreSQL), and commands on one account held back behind batches in flight
/// never overdraw it nor get lost, with several batches in flight.
/// </summary>
public abstract class ExecutorBatchingTests
{
    protected abstract Task<(DatabaseEngine Engine, string Connection)> CreateDatabaseAsync();

    private async Task<LedgerFixture> FixtureAsync(int batchesInFlight, LedgerExecutorOptions? options = null)
    {
        var (engine, connection) = await CreateDatabaseAsync();
        options ??= new LedgerExecutorOptions();
        options.BatchesInFlightMax = batchesInFlight;
        return await LedgerFixture.CreateAsync(engine, connection, 8, 5, options, null, CancellationToken.None);
    }

    /// <summary>A new user wallet topped up with <paramref name="fen"/> from the fixture's funding account.</summary>
    private static async Task<Account> WalletHoldingAsync(LedgerFixture f, long fen)
    {
        var wallet = ChartOfAccounts.UserWallet(Guid.NewGuid(), Currency.Cny);
        (await f.Store.CreateAccountAsync(wallet, null, 0, CancellationToken.None)).ShouldBe(CreateAccountResult.Created);
        (await f.Executor.SubmitAsync(new Transfer(new TransferId(Guid.CreateVersion7()), f.Funding, wallet.Id, fen, Currency.Cny, TransferCodes.TopUp)))
            .ShouldBe(TransferResult.Created);
        return wallet;
    }

    /// <summary>A second executor with its own store on the fixture's database, as another server process would have.</summary>
    private static LedgerExecutor OtherProcess(LedgerFixture f) =>
        new(f.Store is PostgresLedgerStore ? new PostgresLedgerStore(f.Db) : new SqliteLedgerStore(f.Db), TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<LedgerExecutor>.Instance, new LedgerExecutorOptions { BatchesInFlightMax = 2 });

    private static Transfer Move(Guid id, AccountId from, AccountId to, long amount) =>
        new(new TransferId(id), from, to, amount, Currency.Cny, TransferCodes.PeerTransfer);

    [Fact]
    public async Task ReplayedIdsGetTheirStoredResultAlongsideNewOnes()
    {
        await using var f = await FixtureAsync(batchesInFlight: 4);
        var first = Enumerable.Range(0, 40).Select(i => Move(Guid.CreateVersion7(), f.Wallets[i % 8], f.Wallets[(i + 1) % 8], 10 + i)).ToArray();
        (await Task.WhenAll(first.Select(t => f.Executor.SubmitAsync(t)))).ShouldAllBe(r => r == TransferResult.Created);

        // Replays (same and changed amount) race new transfers on the same accounts, so they share batches with them.
        var fresh = Enumerable.Range(0, 40).Select(i => Move(Guid.CreateVersion7(), f.Wallets[i % 8], f.Wallets[(i + 3) % 8], 5)).ToArray();
        var replays = first.Select(t => f.Executor.SubmitAsync(t)).ToArray();
        var changed = first.Take(10).Select(t => f.Executor.SubmitAsync(Move(t.Id.Value, t.DebitAccountId, t.CreditAccountId, t.Amount + 1))).ToArray();
        var created = fresh.Select(t => f.Executor.SubmitAsync(t)).ToArray();
        (await Task.WhenAll(replays)).ShouldAllBe(r => r == TransferResult.Exists);
        (await Task.WhenAll(changed)).ShouldAllBe(r => r == TransferResult.ExistsWithDifferentAmount);
        (await Task.WhenAll(created)).ShouldAllBe(r => r == TransferResult.Created);

        (await f.StoredTotalsAsync(TransferCodes.PeerTransfer, CancellationToken.None)).ShouldBe((80L, first.Sum(t => t.Amount) + 40 * 5));
        var check = await LedgerCheck.RunAsync(f.Db, CancellationToken.None);
        check.Violations.ShouldBeEmpty();
        check.Ok.ShouldBeTrue();
    }

    [Fact]
    public async Task AReplayTheBalanceCouldNoLongerPayStillGetsItsStoredResult()
    {
        await using var f = await FixtureAsync(batchesInFlight: 2);
        var wallet = await WalletHoldingAsync(f, 100);
        var spend = Move(Guid.CreateVersion7(), wallet.Id, f.Merchant, 80);
        (await f.Executor.SubmitAsync(spend)).ShouldBe(TransferResult.Created);

        // 20 left: the replay of the 80 would now exceed the credits, but it was applied, so it must answer as applied (a
        // first attempt that assumes new ids must not answer from the balance alone); a changed amount is still told apart.
        (await f.Executor.SubmitAsync(spend)).ShouldBe(TransferResult.Exists);
        (await f.Executor.SubmitAsync(Move(spend.Id.Value, spend.DebitAccountId, spend.CreditAccountId, 81))).ShouldBe(TransferResult.ExistsWithDifferentAmount);
        (await f.Executor.SubmitAsync(Move(Guid.CreateVersion7(), wallet.Id, f.Merchant, 21))).ShouldBe(TransferResult.ExceedsCredits);

        var stored = (await f.Store.GetAccountsAsync([wallet.Id], CancellationToken.None)).Single();
        (stored.DebitsPosted, stored.CreditsPosted).ShouldBe((80L, 100L));
    }

    public static TheoryData<string> Lingers => ["none", "deep queue"];

    /// <param name="linger">"deep queue": the deep-queue linger on for every batch formed while another commits (a batch of
    /// one is "deep" here, the window long), so commands join batches while others are in flight.</param>
    [Theory]
    [MemberData(nameof(Lingers))]
    public async Task OneAccountSpentFromManyConcurrentCommandsIsNeverOverdrawn(string linger)
    {
        await using var f = await FixtureAsync(batchesInFlight: 4, linger == "none"
            ? new LedgerExecutorOptions { DeepQueueWindowUs = 0 }
            : new LedgerExecutorOptions { DeepQueueWindowUs = 20_000, DeepQueueBatchMin = 1 });
        var wallet = await WalletHoldingAsync(f, 100);

        // 150 spends of 1 fen from a wallet holding 100, mixed with traffic between other wallets (so batches form and overlap).
        var spends = Enumerable.Range(0, 150).Select(_ => f.Executor.SubmitAsync(Move(Guid.CreateVersion7(), wallet.Id, f.Merchant, 1))).ToArray();
        var others = Enumerable.Range(0, 300).Select(i => f.Executor.SubmitAsync(Move(Guid.CreateVersion7(), f.Wallets[i % 8], f.Wallets[(i + 5) % 8], 1))).ToArray();
        var results = await Task.WhenAll(spends);
        results.Count(r => r == TransferResult.Created).ShouldBe(100);
        results.Count(r => r == TransferResult.ExceedsCredits).ShouldBe(50);
        (await Task.WhenAll(others)).ShouldAllBe(r => r == TransferResult.Created);

        var stored = (await f.Store.GetAccountsAsync([wallet.Id], CancellationToken.None)).Single();
        (stored.DebitsPosted, stored.CreditsPosted).ShouldBe((100L, 100L));
        var check = await LedgerCheck.RunAsync(f.Db, CancellationToken.None);
        check.Violations.ShouldBeEmpty();
        check.Ok.ShouldBeTrue();
    }

    /// <summary>
    /// Two executors on one database (two server processes): each reads accounts without locking them first (PostgreSQL), so
    /// the other's commits land between its read and its write all the time, and each such batch must be decided again with
    /// the rows locked, never written from stale balances: the wallet is never overdrawn and no transfer is lost or doubled.
    /// </summary>
    [Fact]
    public async Task TwoExecutorsOnOneDatabaseSpendingFromTheSameAccountsNeverOverdraw()
    {
        await using var f = await FixtureAsync(batchesInFlight: 2);
        var wallet = await WalletHoldingAsync(f, 100);
        await using var other = OtherProcess(f);

        // 200 spends of 1 fen from a wallet holding 100, alternating between the two executors, beside a ring of transfers
        // among the same 8 wallets through both (so nearly every batch of one shares accounts with a batch of the other).
        var executors = new[] { f.Executor, other };
        var spends = Enumerable.Range(0, 200).Select(i => executors[i % 2].SubmitAsync(Move(Guid.CreateVersion7(), wallet.Id, f.Merchant, 1))).ToArray();
        var ring = Enumerable.Range(0, 400).Select(i => executors[i % 2].SubmitAsync(Move(Guid.CreateVersion7(), f.Wallets[i % 8], f.Wallets[(i + 1) % 8], 1 + i % 3))).ToArray();
        var results = await Task.WhenAll(spends);
        results.Count(r => r == TransferResult.Created).ShouldBe(100);
        results.Count(r => r == TransferResult.ExceedsCredits).ShouldBe(100);
        (await Task.WhenAll(ring)).ShouldAllBe(r => r == TransferResult.Created);

        var stored = (await f.Store.GetAccountsAsync([wallet.Id], CancellationToken.None)).Single();
        (stored.DebitsPosted, stored.CreditsPosted).ShouldBe((100L, 100L));
        (await f.StoredTotalsAsync(TransferCodes.PeerTransfer, CancellationToken.None)).ShouldBe((500L, 100 + Enumerable.Range(0, 400).Sum(i => 1L + i % 3)));
        var check = await LedgerCheck.RunAsync(f.Db, CancellationToken.None);
        check.Violations.ShouldBeEmpty();
        check.Ok.ShouldBeTrue();
    }

    /// <summary>
    /// On PostgreSQL a store remembers the account rows its batches wrote and decides the next lock-free batch on them without
    /// reading them: when another process (here another store on the same database) changed an account since, the stale balance
    /// must neither pay a transfer the stored balance cannot, nor refuse one it can.
    /// </summary>
    [Fact]
    public async Task BalancesRememberedByOneProcessAndChangedByAnotherAreNeverDecidedOn()
    {
        await using var f = await FixtureAsync(batchesInFlight: 2);
        var wallet = await WalletHoldingAsync(f, 100);
        (await f.Executor.SubmitAsync(Move(Guid.CreateVersion7(), wallet.Id, f.Merchant, 1))).ShouldBe(TransferResult.Created);
        await using var other = OtherProcess(f);

        // The other process spends 60 of the 99 left: this one's remembered 99 would pay 50.
        (await other.SubmitAsync(Move(Guid.CreateVersion7(), wallet.Id, f.Merchant, 60))).ShouldBe(TransferResult.Created);
        (await f.Executor.SubmitAsync(Move(Guid.CreateVersion7(), wallet.Id, f.Merchant, 50))).ShouldBe(TransferResult.ExceedsCredits);
        // The other process tops the wallet up by 30 (39 + 30 = 69): this one, whose last look said 39, must still pay 60.
        (await other.SubmitAsync(new Transfer(new TransferId(Guid.CreateVersion7()), f.Funding, wallet.Id, 30, Currency.Cny, TransferCodes.TopUp)))
            .ShouldBe(TransferResult.Created);
        (await f.Executor.SubmitAsync(Move(Guid.CreateVersion7(), wallet.Id, f.Merchant, 60))).ShouldBe(TransferResult.Created);
        (await f.Executor.SubmitAsync(Move(Guid.CreateVersion7(), wallet.Id, f.Merchant, 10))).ShouldBe(TransferResult.ExceedsCredits);

        var stored = (await f.Store.GetAccountsAsync([wallet.Id], CancellationToken.None)).Single();
        (stored.DebitsPosted, stored.CreditsPosted).ShouldBe((121L, 130L));
        var check = await LedgerCheck.RunAsync(f.Db, CancellationToken.None);
        check.Violations.ShouldBeEmpty();
        check.Ok.ShouldBeTrue();
    }
}

public sealed class SqliteExecutorBatchingTests : ExecutorBatchingTests, IDisposable
{
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("qianbao-executor-");

    protected override Task<(DatabaseEngine Engine, string Connection)> CreateDatabaseAsync() =>
        Task.FromResult((DatabaseEngine.Sqlite, Path.Combine(dir.FullName, "ledger.db")));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Delete(recursive: true);
    }
}

public sealed class PostgresExecutorBatchingTests : ExecutorBatchingTests
{
    protected override async Task<(DatabaseEngine Engine, string Connection)> CreateDatabaseAsync() =>
        (DatabaseEngine.Postgres, await PostgresCluster.Shared.CreateDatabaseAsync("executor"));
}
