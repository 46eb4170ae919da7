using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Qianbao.Ledger;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Storage;

namespace Qianbao.Bench;

/// <summary>Settings of a batch cost run (<c>Qianbao.Bench batchcost ...</c>).</summary>
public sealed class BatchCostOptions
{
    public DatabaseEngine Engine { get; init; } = DatabaseEngine.Sqlite;
    public required string Connection { get; init; }
    public int Accounts { get; init; } = 10_000;

    /// <summary>Batch sizes (transfers per batch) to time, each 1..65536.</summary>
    public IReadOnlyList<int> Sizes { get; init; } = [1, 16, 64, 256, 1024, 4096];

    /// <summary>Timed batches per size, after one untimed one; 1..10000.</summary>
    public int Repeats { get; init; } = 20;

    public LedgerWorkloadKind Workload { get; init; } = LedgerWorkloadKind.Uniform;
    public int Seed { get; init; } = 1;
}

/// <summary>
/// The store's cost model, without the executor or clients in the way: batches of a given size are
/// applied one after another straight through <see cref="LedgerStore.ApplyBatchAsync"/> and timed, so
/// that time per batch ≈ fixed cost (round trips, commit) + size × per-transfer cost. With PostgreSQL the
/// time is also split per round trip (see <see cref="StatementProfile"/>). The first line times a bare
/// durable commit (one row changed), the floor every batch pays.
/// </summary>
public static class BatchCost
{
    public sealed record Row(int Size, int Batches, double MeanMs, double P50Ms, double MaxMs, IReadOnlyList<StatementProfile.Line> Statements)
    {
        public double MicrosecondsPerTransfer => Size > 0 ? MeanMs * 1000 / Size : 0;

        /// <summary>Transfers per second one batch at a time could reach at this size.</summary>
        public double TransfersPerSecondBound => MeanMs > 0 ? Size * 1000 / MeanMs : 0;
    }

    public static async Task<IReadOnlyList<Row>> RunAsync(BatchCostOptions options, ILoggerFactory? loggers = null, TextWriter? progress = null,
        CancellationToken ct = default)
    {
        if (options.Repeats is < 1 or > 10_000) throw new ArgumentOutOfRangeException(nameof(options), options.Repeats, "Repeats must be 1..10000");
        if (options.Sizes.Any(s => s is < 1 or > 65_536)) throw new ArgumentOutOfRangeException(nameof(options), "sizes must be 1..65536");
        progress ??= TextWriter.Null;
        using var profile = options.Engine == DatabaseEngine.Postgres ? new StatementProfile() : null;
        await using var fixture = await LedgerFixture.CreateAsync(options.Engine, options.Connection, options.Accounts, options.Seed,
            new LedgerExecutorOptions(), loggers, ct);
        progress.WriteLine($"[batchcost/{options.Engine}] setup took {fixture.SetupDuration.TotalSeconds:0.0} s");
        var wallets = fixture.Wallets.ToArray();
        var random = new Random(options.Seed);
        var rows = new List<Row>();

        await CreateCommitFloorTableAsync(fixture, ct);
        rows.Add(await TimeAsync(0, () => CommitFloorAsync(fixture, ct)));
        foreach (var size in options.Sizes)
        {
            rows.Add(await TimeAsync(size, async () =>
            {
                var commands = new LedgerCommand[size];
                for (var i = 0; i < size; i++)
                {
                    var debit = random.Next(wallets.Length);
                    AccountId credit;
                    if (options.Workload == LedgerWorkloadKind.Hot && random.NextDouble() < 0.9) credit = fixture.Merchant;
                    else
                    {
                        var other = random.Next(wallets.Length - 1);
                        credit = wallets[other >= debit ? other + 1 : other];
                    }
                    commands[i] = new LedgerCommand([new Transfer(new TransferId(Guid.CreateVersion7()), wallets[debit], credit,
                        1 + random.Next(1_000), Currency.Cny, LedgerFixture.LoadTransferCode)]);
                }
                var started = Stopwatch.GetTimestamp();
                var results = await fixture.Store.ApplyBatchAsync(commands, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000, ct);
                var elapsed = Stopwatch.GetTimestamp() - started;
                var bad = results.SelectMany(r => r).FirstOrDefault(r => r is not (TransferResult.Created or TransferResult.ExceedsCredits), TransferResult.Created);
                if (bad != TransferResult.Created) throw new InvalidOperationException($"a timed batch answered {bad}");
                return elapsed;
            }));
            progress.WriteLine($"[batchcost/{options.Engine}] size {size}: {rows[^1].MeanMs:0.00} ms per batch");
        }
        return rows;

        async Task<Row> TimeAsync(int size, Func<Task<long>> once)
        {
            await once(); // untimed: plans, pools, caches
            profile?.Reset();
            var times = new double[options.Repeats];
            for (var i = 0; i < times.Length; i++) times[i] = LatencyHistogram.TicksToMs(await once());
            Array.Sort(times);
            return new Row(size, times.Length, times.Average(), times[times.Length / 2], times[^1], profile?.Lines() ?? []);
        }
    }

    /// <summary>
    /// One transaction that changes one row of a table of the benchmark's own and commits: a durable commit's
    /// round trips and flush. The row must really change: SQLite writes no WAL frame (and flushes nothing)
    /// for an UPDATE that leaves the row as it was.
    /// </summary>
    private static async Task<long> CommitFloorAsync(LedgerFixture fixture, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        await using var connection = await fixture.Db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "UPDATE bench_commit_floor SET n = n + 1 WHERE id = 1";
        await cmd.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return Stopwatch.GetTimestamp() - started;
    }

    private static async Task CreateCommitFloorTableAsync(LedgerFixture fixture, CancellationToken ct)
    {
        await using var connection = await fixture.Db.OpenAsync(ct);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS bench_commit_floor (id integer PRIMARY KEY, n bigint NOT NULL);
            INSERT INTO bench_commit_floor (id, n) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
            """;
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
