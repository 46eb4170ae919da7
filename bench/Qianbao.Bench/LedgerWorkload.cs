using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Qianbao.Server.Money;
using Qianbao.Ledger;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Storage;

namespace Qianbao.Bench;

public enum LedgerWorkloadKind
{
    /// <summary>Debit and credit accounts drawn uniformly from the wallets.</summary>
    Uniform,

    /// <summary>Like <see cref="Uniform"/>, but <see cref="LedgerWorkloadOptions.HotShare"/> of the transfers credit one merchant account.</summary>
    Hot,
}

/// <summary>Settings of one ledger load run (<c>Qianbao.Bench ledger ...</c>).</summary>
public sealed class LedgerWorkloadOptions
{
    public DatabaseEngine Engine { get; init; } = DatabaseEngine.Sqlite;

    /// <summary>PostgreSQL connection string, or the SQLite database file's path. The database must hold no transfers.</summary>
    public required string Connection { get; init; }

    /// <summary>Wallet accounts to create and fund, 2..1000000.</summary>
    public int Accounts { get; init; } = 10_000;

    /// <summary>Concurrent closed-loop clients, each with one transfer in flight, 1..100000.</summary>
    public int Clients { get; init; } = 256;

    /// <summary>Length of the measured window in seconds, after <see cref="WarmupS"/>, 0.1..3600.</summary>
    public double DurationS { get; init; } = 20;

    /// <summary>Load before the measured window (JIT, pools, caches), not counted in throughput or latency; 0..600.</summary>
    public double WarmupS { get; init; } = 2;

    /// <summary>Stop after this many transfers were submitted (for quick, bounded runs); at most <see cref="long.MaxValue"/>.</summary>
    public long TransfersMax { get; init; } = long.MaxValue;

    public LedgerWorkloadKind Workload { get; init; } = LedgerWorkloadKind.Uniform;

    /// <summary>Share of transfers that credit the merchant account in the <see cref="LedgerWorkloadKind.Hot"/> workload, 0..1.</summary>
    public double HotShare { get; init; } = 0.9;

    public int Seed { get; init; } = 1;

    public LedgerExecutorOptions Executor { get; init; } = new();

    /// <summary>Trace every Npgsql round trip and report where the time went (PostgreSQL only; costs a little).</summary>
    public bool ProfileStatements { get; init; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Connection)) throw new ArgumentException("a connection string or SQLite path is required", nameof(Connection));
        if (Accounts is < 2 or > 1_000_000) throw new ArgumentOutOfRangeException(nameof(Accounts), Accounts, "2..1000000");
        if (Clients is < 1 or > 100_000) throw new ArgumentOutOfRangeException(nameof(Clients), Clients, "1..100000");
        if (DurationS is < 0.1 or > 3600) throw new ArgumentOutOfRangeException(nameof(DurationS), DurationS, "0.1..3600");
        if (WarmupS is < 0 or > 600) throw new ArgumentOutOfRangeException(nameof(WarmupS), WarmupS, "0..600");
        if (TransfersMax < 1) throw new ArgumentOutOfRangeException(nameof(TransfersMax), TransfersMax, "at least 1");
        if (HotShare is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(HotShare), HotShare, "0..1");
        Executor.Validate();
    }
}

/// <summary>What a ledger load run measured and what its checks found. <see cref="Ok"/> only when every check passed.</summary>
public sealed record LedgerWorkloadResult
{
    public required DatabaseEngine Engine { get; init; }
    public required LedgerWorkloadKind Workload { get; init; }
    public required int Clients { get; init; }
    public required int Accounts { get; init; }
    public required LedgerExecutorOptions Executor { get; init; }
    public required double SetupSeconds { get; init; }

    /// <summary>Transfers acknowledged as <see cref="TransferResult.Created"/> over the whole run (warm-up, window and drain).</summary>
    public required long Acknowledged { get; init; }
    public required long AcknowledgedAmount { get; init; }

    /// <summary>Transfers refused with <see cref="TransferResult.ExceedsCredits"/> (an expected outcome; rare with the funding used).</summary>
    public required long Rejected { get; init; }

    /// <summary>Any other result, or an exception: a bug.</summary>
    public required long Unexpected { get; init; }

    public required long MeasuredTransfers { get; init; }
    public required double MeasuredSeconds { get; init; }
    public double TransfersPerSecond => MeasuredSeconds > 0 ? MeasuredTransfers / MeasuredSeconds : 0;
    public required double P50Ms { get; init; }
    public required double P99Ms { get; init; }
    public required double P999Ms { get; init; }
    public required double MaxMs { get; init; }

    /// <summary>Batches the executor committed during the measured window, and the transfers in them.</summary>
    public required long Batches { get; init; }
    public required long BatchedTransfers { get; init; }
    public double MeanBatchSize => Batches > 0 ? (double)BatchedTransfers / Batches : 0;

    /// <summary>Mean time between batch commits in the window: the executor runs one batch at a time.</summary>
    public double MeanBatchMs => Batches > 0 ? MeasuredSeconds * 1000 / Batches : 0;

    /// <summary>Where the window's batch attempts spent their time (null when the run ended before the window did).</summary>
    public required LedgerPhaseTimes.Snapshot? Phases { get; init; }

    public required LedgerCheck.Report Check { get; init; }
    public required long StoredCount { get; init; }
    public required long StoredAmount { get; init; }
    public required long FoundCount { get; init; }
    public required long FoundAmount { get; init; }
    public required IReadOnlyList<StatementProfile.Line> Statements { get; init; }

    /// <summary>
    /// CPU time per transfer committed in the window: this process (clients, executor, driver) and all local
    /// PostgreSQL processes (0 for SQLite, whose work is in this process). Steadier than throughput on a noisy
    /// machine, though not immune: a starved CPU spends more time per transfer on cache misses and lock waits.
    /// </summary>
    public double BenchCpuUsPerTransfer { get; init; }
    public double PostgresCpuUsPerTransfer { get; init; }

    public required IReadOnlyList<string> Problems { get; init; }
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// The ledger load: closed-loop clients, each submitting one transfer at a time through
/// <see cref="LedgerExecutor.SubmitAsync(Transfer, CancellationToken)"/> and waiting for its durable
/// acknowledgement. Latency is measured per transfer from submit to acknowledgement. After the run the
/// ledger check runs, and every acknowledged transfer is looked up by id: the stored load transfers must
/// be exactly the acknowledged ones, amounts included.
/// </summary>
public static class LedgerWorkload
{
    private readonly record struct Edges((long Batches, long Transfers) First, (long Batches, long Transfers) Last,
        CpuSampler.Sample CpuFirst, CpuSampler.Sample CpuLast, LedgerPhaseTimes.Snapshot PhasesFirst, LedgerPhaseTimes.Snapshot PhasesLast);

    private sealed class ClientState(int capacity)
    {
        public readonly LatencyHistogram Histogram = new();
        public readonly List<Guid> Acknowledged = new(capacity);
        public long AcknowledgedAmount;
        public long Measured;
        public long Rejected;
        public long Unexpected;
        public string? FirstProblem;
        public long LastCompletionTicks;
    }

    public static async Task<LedgerWorkloadResult> RunAsync(LedgerWorkloadOptions options, ILoggerFactory? loggers = null,
        TextWriter? progress = null, CancellationToken ct = default)
    {
        options.Validate();
        progress ??= TextWriter.Null;
        using var profile = options.ProfileStatements && options.Engine == DatabaseEngine.Postgres ? new StatementProfile() : null;

        progress.WriteLine($"[{options.Engine}/{options.Workload}] setting up {options.Accounts} funded accounts ...");
        await using var fixture = await LedgerFixture.CreateAsync(options.Engine, options.Connection, options.Accounts, options.Seed,
            options.Executor, loggers, ct);
        progress.WriteLine($"[{options.Engine}/{options.Workload}] setup took {fixture.SetupDuration.TotalSeconds:0.0} s; " +
            $"running {options.Clients} clients for {options.WarmupS:0.#} s warm-up + {options.DurationS:0.#} s");

        var wallets = fixture.Wallets.ToArray();
        var merchant = fixture.Merchant;
        var hot = options.Workload == LedgerWorkloadKind.Hot;
        var start = Stopwatch.GetTimestamp();
        var measureStart = start + (long)(options.WarmupS * Stopwatch.Frequency);
        var end = measureStart + (long)(options.DurationS * Stopwatch.Frequency);
        var budget = options.TransfersMax;
        // Room for what a client is likely to see, so the id lists rarely grow while measuring.
        var capacity = (int)Math.Clamp(50_000L * (long)(options.WarmupS + options.DurationS + 1) / options.Clients, 16, 1_000_000);
        var clients = Enumerable.Range(0, options.Clients).Select(_ => new ClientState(capacity)).ToArray();

        // Batches committed inside the measured window: snapshots of the executor's counters at its edges.
        var statsAtStart = fixture.Executor.Stats;
        using var statsStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var statsTask = Task.Run(async () =>
        {
            try
            {
                await DelayUntilAsync(measureStart, statsStop.Token);
                var first = fixture.Executor.Stats;
                var cpuFirst = CpuSampler.Take();
                var phasesFirst = fixture.Store.Phases.Take();
                profile?.Reset();
                await DelayUntilAsync(end, statsStop.Token);
                return (Edges?)new Edges(first, fixture.Executor.Stats, cpuFirst, CpuSampler.Take(), phasesFirst, fixture.Store.Phases.Take());
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }, CancellationToken.None);

        var tasks = new Task[options.Clients];
        for (var c = 0; c < tasks.Length; c++)
        {
            var state = clients[c];
            var random = new Random(HashCode.Combine(options.Seed, c));
            tasks[c] = Task.Run(() => ClientAsync(state, random), ct);
        }
        await Task.WhenAll(tasks);
        var lastCompletion = clients.Max(s => s.LastCompletionTicks);
        var statsAtEnd = fixture.Executor.Stats;
        // A transfer budget can end the run before the window does: then count the whole run's batches.
        if (lastCompletion < end) await statsStop.CancelAsync();
        var edges = await statsTask;
        var cpuWindow = edges;
        (long Batches, long Transfers) window = edges is { } e
            ? (e.Last.Batches - e.First.Batches, e.Last.Transfers - e.First.Transfers)
            : (statsAtEnd.Batches - statsAtStart.Batches, statsAtEnd.Transfers - statsAtStart.Transfers);
        var statements = profile?.Lines() ?? [];

        var histogram = new LatencyHistogram();
        foreach (var s in clients) histogram.Add(s.Histogram);
        var acknowledged = clients.SelectMany(s => s.Acknowledged).ToArray();
        var acknowledgedAmount = clients.Sum(s => s.AcknowledgedAmount);
        var measuredSeconds = Math.Max(0, Math.Min(end, lastCompletion) - measureStart) / (double)Stopwatch.Frequency;

        progress.WriteLine($"[{options.Engine}/{options.Workload}] {acknowledged.Length} transfers acknowledged; checking the ledger ...");
        var check = await LedgerCheck.RunAsync(fixture.Db, ct);
        var (foundCount, foundAmount) = await fixture.FindTransfersAsync(acknowledged, ct);
        var (storedCount, storedAmount) = await fixture.StoredTotalsAsync(LedgerFixture.LoadTransferCode, ct);

        var problems = new List<string>();
        if (!check.Ok) problems.Add("ledger check failed: " + string.Join("; ", check.Violations.Take(5)));
        if (acknowledged.Length == 0) problems.Add("no transfer was acknowledged");
        if (foundCount != acknowledged.Length || foundAmount != acknowledgedAmount)
            problems.Add($"acknowledged {acknowledged.Length} transfers of {acknowledgedAmount} fen, but only {foundCount} of {foundAmount} fen are stored");
        if (storedCount != acknowledged.Length || storedAmount != acknowledgedAmount)
            problems.Add($"stored {storedCount} load transfers of {storedAmount} fen, acknowledged {acknowledged.Length} of {acknowledgedAmount} fen");
        var unexpected = clients.Sum(s => s.Unexpected);
        if (unexpected > 0) problems.Add($"{unexpected} unexpected results, first: {clients.Select(s => s.FirstProblem).First(p => p is not null)}");

        return new LedgerWorkloadResult
        {
            Engine = options.Engine,
            Workload = options.Workload,
            Clients = options.Clients,
            Accounts = options.Accounts,
            Executor = options.Executor,
            SetupSeconds = fixture.SetupDuration.TotalSeconds,
            Acknowledged = acknowledged.Length,
            AcknowledgedAmount = acknowledgedAmount,
            Rejected = clients.Sum(s => s.Rejected),
            Unexpected = unexpected,
            MeasuredTransfers = clients.Sum(s => s.Measured),
            MeasuredSeconds = measuredSeconds,
            P50Ms = histogram.PercentileMs(50),
            P99Ms = histogram.PercentileMs(99),
            P999Ms = histogram.PercentileMs(99.9),
            MaxMs = histogram.MaxMs,
            Batches = window.Batches,
            BatchedTransfers = window.Transfers,
            Check = check,
            StoredCount = storedCount,
            StoredAmount = storedAmount,
            FoundCount = foundCount,
            FoundAmount = foundAmount,
            Statements = statements,
            Phases = edges is { } p ? p.PhasesLast.Minus(p.PhasesFirst) : null,
            BenchCpuUsPerTransfer = cpuWindow is { } w && window.Transfers > 0 ? (w.CpuLast.Self - w.CpuFirst.Self).TotalMicroseconds / window.Transfers : 0,
            PostgresCpuUsPerTransfer = options.Engine == DatabaseEngine.Postgres && cpuWindow is { } v && window.Transfers > 0
                ? Math.Max(0, (v.CpuLast.Postgres - v.CpuFirst.Postgres).TotalMicroseconds) / window.Transfers : 0,
            Problems = problems,
        };

        async Task ClientAsync(ClientState state, Random random)
        {
            while (Stopwatch.GetTimestamp() < end && Interlocked.Decrement(ref budget) >= 0)
            {
                var debit = random.Next(wallets.Length);
                AccountId credit;
                if (hot && random.NextDouble() < options.HotShare)
                {
                    credit = merchant;
                }
                else
                {
                    var other = random.Next(wallets.Length - 1);
                    credit = wallets[other >= debit ? other + 1 : other];
                }
                var amount = 1 + random.Next(1_000);
                var id = Guid.CreateVersion7();
                var transfer = new Transfer(new TransferId(id), wallets[debit], credit, amount, Currency.Cny, LedgerFixture.LoadTransferCode);

                var submitted = Stopwatch.GetTimestamp();
                TransferResult result;
                try
                {
                    result = await fixture.Executor.SubmitAsync(transfer, CancellationToken.None);
                }
                catch (Exception ex)
                {
                    state.Unexpected++;
                    state.FirstProblem ??= ex.GetType().Name + ": " + ex.Message;
                    continue;
                }
                var done = Stopwatch.GetTimestamp();
                state.LastCompletionTicks = done;

                switch (result)
                {
                    case TransferResult.Created:
                        state.Acknowledged.Add(id);
                        state.AcknowledgedAmount += amount;
                        if (done >= measureStart && done < end)
                        {
                            state.Measured++;
                            state.Histogram.Record(done - submitted);
                        }
                        break;
                    case TransferResult.ExceedsCredits:
                        state.Rejected++;
                        break;
                    default:
                        state.Unexpected++;
                        state.FirstProblem ??= $"transfer {id} answered {result}";
                        break;
                }
            }
        }
    }

    private static async Task DelayUntilAsync(long ticks, CancellationToken ct)
    {
        var wait = ticks - Stopwatch.GetTimestamp();
        if (wait > 0) await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency), ct);
    }
}
