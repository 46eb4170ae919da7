using System.Data.Common;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Qianbao.Ledger;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Storage;

namespace Qianbao.Bench;

/// <summary>
/// A fresh ledger to load: the database migrated, <c>accounts</c> user wallets (credit-normal, debits must
/// not exceed credits) and one merchant settlement account opened, and every wallet funded from one
/// debit-normal funding account through the executor, one large transfer per wallet. The database must
/// hold no transfers yet, so that the checks after a run can compare the whole table with what was
/// acknowledged.
/// </summary>
public sealed class LedgerFixture : IAsyncDisposable
{
    /// <summary>What every wallet is funded with, in fen: far more than any run spends.</summary>
    public const long FundingAmountMinor = 1_000_000_000;

    /// <summary>Transfer code of the load (person to person); funding uses <see cref="TransferCodes.TopUp"/>.</summary>
    public const ushort LoadTransferCode = TransferCodes.PeerTransfer;

    private LedgerFixture(Db db, LedgerStore store, LedgerExecutor executor, AccountId[] wallets, AccountId merchant, AccountId funding)
    {
        Db = db;
        Store = store;
        Executor = executor;
        Wallets = wallets;
        Merchant = merchant;
        Funding = funding;
    }

    public Db Db { get; }
    public LedgerStore Store { get; }
    public LedgerExecutor Executor { get; }
    public IReadOnlyList<AccountId> Wallets { get; }
    public AccountId Merchant { get; }
    public AccountId Funding { get; }
    public TimeSpan SetupDuration { get; private set; }

    public static Db OpenDb(DatabaseEngine engine, string connection) =>
        engine == DatabaseEngine.Postgres ? Db.ForPostgres(connection) : Db.ForSqlite(connection);

    /// <summary>Migrates, opens and funds the accounts. <paramref name="seed"/> names the accounts.</summary>
    public static async Task<LedgerFixture> CreateAsync(DatabaseEngine engine, string connection, int accounts, int seed,
        LedgerExecutorOptions executorOptions, ILoggerFactory? loggers, CancellationToken ct)
    {
        if (accounts is < 2 or > 1_000_000) throw new ArgumentOutOfRangeException(nameof(accounts), accounts, "2..1000000");
        loggers ??= NullLoggerFactory.Instance;
        var started = Stopwatch.GetTimestamp();
        DbValues.RegisterDapperHandlers();
        var db = OpenDb(engine, connection);
        LedgerExecutor? executor = null;
        try
        {
            await Migrator.MigrateAsync(db, loggers.CreateLogger("Qianbao.Bench.Migrator"), ct);
            if (await ScalarAsync(db, "SELECT count(*) FROM transfers", ct) != 0)
                throw new InvalidOperationException("The benchmark needs a fresh database: the transfers table is not empty.");

            LedgerStore store = engine == DatabaseEngine.Postgres ? new PostgresLedgerStore(db) : new SqliteLedgerStore(db);
            var funding = ChartOfAccounts.ChannelClearing($"bench-funding-{seed}", Currency.Cny);
            var merchant = ChartOfAccounts.MerchantSettlement(StableId.From("bench/merchant", seed.ToString(System.Globalization.CultureInfo.InvariantCulture)), Currency.Cny);
            var wallets = new Account[accounts];
            for (var i = 0; i < accounts; i++)
                wallets[i] = ChartOfAccounts.UserWallet(StableId.From("bench/user", $"{seed}/{i}"), Currency.Cny);

            // SQLite has one writer: parallel account inserts would only queue on its lock (and sleep in its busy handler).
            var parallelism = engine == DatabaseEngine.Postgres ? 16 : 1;
            var nowUs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
            await Parallel.ForEachAsync(wallets.Append(merchant).Append(funding),
                new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct },
                async (account, token) =>
                {
                    var result = await store.CreateAccountAsync(account, null, nowUs, token);
                    if (result is not (CreateAccountResult.Created or CreateAccountResult.Exists))
                        throw new InvalidOperationException($"account {account.Id} could not be created: {result}");
                });

            executor = new LedgerExecutor(store, TimeProvider.System, loggers.CreateLogger<LedgerExecutor>(), executorOptions);
            var funded = await Task.WhenAll(wallets.Select(w => executor.SubmitAsync(
                new Transfer(new TransferId(Guid.CreateVersion7()), funding.Id, w.Id, FundingAmountMinor, Currency.Cny, TransferCodes.TopUp), ct)));
            var failed = funded.Count(r => r != TransferResult.Created);
            if (failed > 0)
                throw new InvalidOperationException($"{failed} funding transfers failed, e.g. {funded.First(r => r != TransferResult.Created)}");

            var fixture = new LedgerFixture(db, store, executor, [.. wallets.Select(w => w.Id)], merchant.Id, funding.Id)
            {
                SetupDuration = Stopwatch.GetElapsedTime(started),
            };
            return fixture;
        }
        catch
        {
            if (executor is not null) await executor.DisposeAsync();
            await db.DisposeAsync();
            throw;
        }
    }

    /// <summary>Count and amount sum of the stored transfers with <paramref name="code"/>.</summary>
    public async Task<(long Count, long Amount)> StoredTotalsAsync(ushort code, CancellationToken ct)
    {
        await using var connection = await Db.OpenAsync(ct);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = Db.Engine == DatabaseEngine.Postgres
            ? "SELECT count(*), coalesce(sum(amount), 0)::bigint FROM transfers WHERE code = @code"
            : "SELECT count(*), coalesce(sum(amount), 0) FROM transfers WHERE code = @code";
        var p = cmd.CreateParameter();
        p.ParameterName = "code";
        p.Value = (int)code;
        cmd.Parameters.Add(p);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        return (r.GetInt64(0), r.GetInt64(1));
    }

    /// <summary>How many of <paramref name="ids"/> are stored, and their amounts' sum; queried in chunks.</summary>
    public async Task<(long Count, long Amount)> FindTransfersAsync(IReadOnlyList<Guid> ids, CancellationToken ct)
    {
        const int chunkSize = 10_000;
        long count = 0, amount = 0;
        await using var connection = await Db.OpenAsync(ct);
        for (var start = 0; start < ids.Count; start += chunkSize)
        {
            var chunk = new Guid[Math.Min(chunkSize, ids.Count - start)];
            for (var i = 0; i < chunk.Length; i++) chunk[i] = ids[start + i];
            await using var cmd = connection.CreateCommand();
            if (Db.Engine == DatabaseEngine.Postgres)
            {
                cmd.CommandText = "SELECT count(*), coalesce(sum(amount), 0)::bigint FROM transfers WHERE id = ANY(@ids)";
                cmd.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", chunk));
            }
            else
            {
                // SQLite stores ids as canonical lower-case text (see DbValues).
                cmd.CommandText = "SELECT count(*), coalesce(sum(amount), 0) FROM transfers WHERE id IN (SELECT value FROM json_each(@ids))";
                var p = cmd.CreateParameter();
                p.ParameterName = "@ids";
                p.Value = System.Text.Json.JsonSerializer.Serialize(chunk.Select(g => g.ToString()));
                cmd.Parameters.Add(p);
            }
            await using var r = await cmd.ExecuteReaderAsync(ct);
            await r.ReadAsync(ct);
            count += r.GetInt64(0);
            amount = checked(amount + r.GetInt64(1));
        }
        return (count, amount);
    }

    private static async Task<long> ScalarAsync(Db db, string sql, CancellationToken ct)
    {
        await using DbConnection connection = await db.OpenAsync(ct);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await Executor.DisposeAsync();
        await Db.DisposeAsync();
    }
}
