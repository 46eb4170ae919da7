using System.Globalization;
using Microsoft.Extensions.Logging;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Storage;

namespace Qianbao.Bench;

/// <summary>
/// Command line of the load generators. Not top-level statements: a global <c>Program</c> here would clash
/// with the server's public <c>Program</c> in the test project, which references both.
/// </summary>
public static class BenchProgram
{
    private const string Usage = """
        Qianbao.Bench: load generators for the ledger and the wallet API (see BENCHMARKS.md; bench/run.sh runs them all).

          ledger    --engine postgres|sqlite --connection <connection string | sqlite file>
                    [--accounts 10000] [--duration-s 20] [--warmup-s 2] [--clients 256] [--workload uniform|hot]
                    [--hot-share 0.9] [--seed 1] [--transfers-max N]
                    [--batch-size-max 4096] [--batch-window-us 0] [--deep-queue-window-us 1000] [--deep-queue-batch-min 32] [--queue-capacity 65536] [--batches-in-flight-max 2] [--profile]
          batchcost --engine postgres|sqlite --connection <...> [--accounts 10000] [--sizes 1,16,64,256,1024,4096]
                    [--repeats 20] [--workload uniform|hot] [--seed 1]
          http      --url http://127.0.0.1:PORT [--duration-s 15] [--warmup-s 2] [--clients 64] [--users 200] [--secure]
                    [--seed 1] [--operator-key KEY] [--transfers-max N] [--scenario transfer|payment|marketing-payment]
                    [--payment-trades N]
                    (payment scenarios: the merchant precreates the trades through the gateway before the measured window,
                    N of them, default (warm-up + duration) × 800; the window measures the buyer paying them by QR and ends
                    early if they run out; marketing-payment applies a coupon and redeems points on each; they need --operator-key)
          campaign  --connection <postgres connection string> [--people 1000000] [--holdout-bps 1000] [--seed 1]
                    (a population with consent, quiet hours and caps; the set-based send of an in-app A/B campaign beside a
                    raw COPY of as many inbox rows; prints recipients/s, the ratio, and checks the counts)

          growth-readers --url http://127.0.0.1:PORT --operator-key KEY [--readers 50] [--seed 90]
                    (before growing: registers, secures and tops up the history readers through the API of a secure server)
          growth-fixture --connection <postgres cs> --data-keys ID:BASE64 --index-key BASE64 [--users 1000000]
                    [--transfers 10000000] [--reader-transfers 100000] [--days 180]
                    (grows a migrated database with the server stopped: filler users and wallets by COPY, transfers by
                    INSERT … SELECT generate_series, balances posted to match; the keys must be the server's)
          growth    --url http://127.0.0.1:PORT --operator-key KEY [--readers 50] [--reader-seed 90] [--history-clients 50]
                    [--deep-entries 2000] [--reads-alone-s 0] [--reads-warmup-s 2] [--server-pid PID] [--postgres-pid POSTMASTER_PID]
                    and the http options (the secure transfer load; history reads while it runs; with --reads-alone-s,
                    first the reads alone for that long: pages/s and CPU per page of the server and of that cluster)

          http-floor [--clients 64] [--duration-s 10] [--warmup-s 2]
                    (the same clients and transfer request against a child process that only parses it and answers 201:
                    no auth, no database; the most any HTTP row can reach on these cores with this load generator)

        ledger, http, http-floor, campaign and the growth commands print a SUMMARY line (key=value) for scripts and exit 1 when a correctness check fails.
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        Arguments a;
        try
        {
            a = Arguments.Parse(args.AsSpan(1));
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        try
        {
            return args[0] switch
            {
                "ledger" => await LedgerAsync(a, loggers, cancel.Token),
                "batchcost" => await BatchCostAsync(a, loggers, cancel.Token),
                "http" => await HttpAsync(a, cancel.Token),
                "growth-readers" => await GrowthReadersAsync(a, cancel.Token),
                "growth-fixture" => await GrowthFixtureAsync(a, loggers, cancel.Token),
                "growth" => await GrowthAsync(a, cancel.Token),
                "http-floor" => await HttpFloor.RunAsync(new HttpFloor.Options(a.Int("clients", 64), a.Double("duration-s", 10), a.Double("warmup-s", 2)),
                    Console.Out, cancel.Token),
                "floor-server" => await HttpFloor.ServeAsync(int.Parse(a.Required("port"), CultureInfo.InvariantCulture), cancel.Token),
                "campaign" => await CampaignWorkload.RunAsync(new CampaignBenchOptions(a.Required("connection"), a.Int("people", 1_000_000),
                    a.Int("holdout-bps", 1_000), a.Int("seed", 1)), loggers, cancel.Token),
                _ => throw new ArgumentException($"unknown command '{args[0]}'"),
            };
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }

    private static async Task<int> LedgerAsync(Arguments a, ILoggerFactory loggers, CancellationToken ct)
    {
        var options = new LedgerWorkloadOptions
        {
            Engine = a.Engine(),
            Connection = a.Required("connection"),
            Accounts = a.Int("accounts", 10_000),
            DurationS = a.Double("duration-s", 20),
            WarmupS = a.Double("warmup-s", 2),
            Clients = a.Int("clients", 256),
            Workload = a.Workload(),
            HotShare = a.Double("hot-share", 0.9),
            Seed = a.Int("seed", 1),
            TransfersMax = a.Long("transfers-max", long.MaxValue),
            Executor = a.Executor(),
            ProfileStatements = a.Flag("profile"),
        };
        a.EnsureAllUsed();
        var r = await LedgerWorkload.RunAsync(options, loggers, Console.Out, ct);
        var name = $"{Name(r.Engine)}/{r.Workload.ToString().ToLowerInvariant()}";
        Console.WriteLine($"""

            ledger {name}: {r.Clients} clients, {r.Accounts} accounts, executor BatchSizeMax={r.Executor.BatchSizeMax} BatchWindowUs={r.Executor.BatchWindowUs} DeepQueueWindowUs={r.Executor.DeepQueueWindowUs} BatchesInFlightMax={r.Executor.BatchesInFlightMax}
              transfers/s     {r.TransfersPerSecond,12:0.0}   ({r.MeasuredTransfers} acknowledged in {r.MeasuredSeconds:0.00} s)
              latency ms      p50 {r.P50Ms:0.00}  p99 {r.P99Ms:0.00}  p99.9 {r.P999Ms:0.00}  max {r.MaxMs:0.00}
              batches         {r.Batches} in the window, mean size {r.MeanBatchSize:0.0}, one every {r.MeanBatchMs:0.00} ms
              per attempt ms  {r.Phases?.MeanMsPerAttempt() ?? "-"} ({r.Phases?.Attempts ?? 0} attempts, {r.Phases?.LockFreeAttempts ?? 0} lock-free, {r.Phases?.StaleReads ?? 0} found an account changed)
              cpu/transfer    {r.BenchCpuUsPerTransfer:0.0} us in this process, {r.PostgresCpuUsPerTransfer:0.0} us in PostgreSQL processes
              acknowledged    {r.Acknowledged} transfers ({r.AcknowledgedAmount} fen) over the whole run; {r.Rejected} refused (exceeds credits); {r.Unexpected} unexpected
              stored          {r.FoundCount} of them found by id ({r.FoundAmount} fen); {r.StoredCount} load transfers in the table ({r.StoredAmount} fen)
              ledger check    {(r.Check.Ok ? "ok" : "FAILED")}
            """);
        if (r.Statements.Count > 0)
        {
            Console.WriteLine("  round trips in the window (Npgsql tracing; COMMIT is not traced):");
            foreach (var s in r.Statements)
                Console.WriteLine($"    {s.Count,8} x {s.MeanMs,7:0.000} ms = {s.TotalMs,9:0} ms  {Truncate(s.Statement, 110)}");
        }
        foreach (var p in r.Problems) Console.WriteLine($"  PROBLEM: {p}");
        Console.WriteLine(FormattableString.Invariant(
            $"SUMMARY mode=ledger engine={Name(r.Engine)} workload={r.Workload.ToString().ToLowerInvariant()} clients={r.Clients} tps={r.TransfersPerSecond:0.0} p50_ms={r.P50Ms:0.00} p99_ms={r.P99Ms:0.00} batches={r.Batches} mean_batch={r.MeanBatchSize:0.0} batch_ms={r.MeanBatchMs:0.00} cpu_us_bench={r.BenchCpuUsPerTransfer:0.0} cpu_us_pg={r.PostgresCpuUsPerTransfer:0.0} acknowledged={r.Acknowledged} ok={(r.Ok ? "true" : "false")}"));
        return r.Ok ? 0 : 1;
    }

    private static async Task<int> BatchCostAsync(Arguments a, ILoggerFactory loggers, CancellationToken ct)
    {
        var options = new BatchCostOptions
        {
            Engine = a.Engine(),
            Connection = a.Required("connection"),
            Accounts = a.Int("accounts", 10_000),
            Sizes = a.Ints("sizes", [1, 16, 64, 256, 1024, 4096]),
            Repeats = a.Int("repeats", 20),
            Workload = a.Workload(),
            Seed = a.Int("seed", 1),
        };
        a.EnsureAllUsed();
        var rows = await BatchCost.RunAsync(options, loggers, Console.Out, ct);
        Console.WriteLine();
        Console.WriteLine($"batch cost on {Name(options.Engine)} ({options.Workload.ToString().ToLowerInvariant()}), {options.Repeats} batches per size, one at a time:");
        Console.WriteLine("     size   mean ms    p50 ms    max ms   us/transfer   transfers/s bound");
        foreach (var r in rows)
        {
            var size = r.Size == 0 ? "commit" : r.Size.ToString(CultureInfo.InvariantCulture);
            Console.WriteLine($"  {size,7} {r.MeanMs,9:0.000} {r.P50Ms,9:0.000} {r.MaxMs,9:0.000} {r.MicrosecondsPerTransfer,13:0.0} {r.TransfersPerSecondBound,19:0}");
        }
        foreach (var r in rows.Where(r => r.Statements.Count > 0))
        {
            Console.WriteLine($"  size {(r.Size == 0 ? "commit" : r.Size)}: round trips per batch (mean ms; the rest of the batch is COMMIT and client work)");
            foreach (var s in r.Statements)
                Console.WriteLine($"    {s.Count / (double)r.Batches,5:0.#} x {s.MeanMs,8:0.000} ms  {Truncate(s.Statement, 110)}");
        }
        return 0;
    }

    private static async Task<int> GrowthReadersAsync(Arguments a, CancellationToken ct)
    {
        var options = new HttpWorkloadOptions { Url = new Uri(a.Required("url")), OperatorKey = a.Required("operator-key"), Secure = true, Seed = a.Int("seed", 90) };
        var readers = a.Int("readers", 50);
        a.EnsureAllUsed();
        await GrowthWorkload.RegisterReadersAsync(options, readers, Console.Out, ct);
        return 0;
    }

    private static async Task<int> GrowthFixtureAsync(Arguments a, ILoggerFactory loggers, CancellationToken ct)
    {
        var options = new GrowthFixtureOptions(a.Required("connection"), a.Int("users", 1_000_000), a.Long("transfers", 10_000_000),
            a.Long("reader-transfers", 100_000), a.Int("days", 180), a.Required("data-keys"), a.Required("index-key"));
        a.EnsureAllUsed();
        return await GrowthFixture.RunAsync(options, loggers, Console.Out, ct);
    }

    private static async Task<int> GrowthAsync(Arguments a, CancellationToken ct)
    {
        var options = new GrowthWorkloadOptions(HttpOptions(a), a.Int("readers", 50), a.Int("reader-seed", 90), a.Int("history-clients", 50),
            a.Int("deep-entries", 2_000), a.Double("reads-alone-s", 0), a.Int("server-pid", 0), a.Int("postgres-pid", 0),
            a.Double("reads-warmup-s", 2));
        a.EnsureAllUsed();
        var g = await GrowthWorkload.RunAsync(options, Console.Out, ct);
        var r = g.Load;
        Console.WriteLine($"""

            growth {options.Transfers.Url}: {r.Clients} transfer clients, {r.Users} users; {options.HistoryClients} history readers ({options.Readers} people, deep page after {g.DeepDepthMin}+ entries)
              transfers/s     {r.TransfersPerSecond,12:0.0}   ({r.MeasuredTransfers} answered 201 in {r.MeasuredSeconds:0.00} s)
              latency ms      p50 {r.P50Ms:0.00}  p99 {r.P99Ms:0.00}  max {r.MaxMs:0.00}
              history ms      first page p50 {g.FirstP50Ms:0.00} p95 {g.FirstP95Ms:0.00}; deep page p50 {g.DeepP50Ms:0.00} p95 {g.DeepP95Ms:0.00}; both p95 {g.P95Ms:0.00} ({g.Reads} reads, {g.PagesPerSecondUnderLoad:0.0} pages/s)
              reads alone     {(g.Alone is { } al ? $"{al.PagesPerSecond:0.0} pages/s, p50 {al.P50Ms:0.00} ms, p95 {al.P95Ms:0.00} ms; CPU per page {al.ServerCpuUsPerPage:0} µs server + {al.PostgresCpuUsPerPage:0} µs PostgreSQL" : "not measured")}
              answers         {r.Created} created, {r.Rejected} insufficient funds, {r.Failed} failed
              ledger check    {(r.CheckOk is null ? "skipped (no --operator-key)" : r.CheckOk.Value ? "ok" : "FAILED")}
            """);
        foreach (var p in r.Problems.Concat(g.Problems)) Console.WriteLine($"  PROBLEM: {p}");
        Console.WriteLine(FormattableString.Invariant(
            $"SUMMARY mode=growth clients={r.Clients} tps={r.TransfersPerSecond:0.0} p50_ms={r.P50Ms:0.00} p99_ms={r.P99Ms:0.00} created={r.Created} history_first_p95_ms={g.FirstP95Ms:0.00} history_deep_p95_ms={g.DeepP95Ms:0.00} history_p95_ms={g.P95Ms:0.00} history_reads={g.Reads} history_pages_per_s={g.PagesPerSecondUnderLoad:0.0} alone_pages_per_s={g.Alone?.PagesPerSecond ?? 0:0.0} alone_p95_ms={g.Alone?.P95Ms ?? 0:0.00} cpu_us_server_per_page={g.Alone?.ServerCpuUsPerPage ?? 0:0.0} cpu_us_pg_per_page={g.Alone?.PostgresCpuUsPerPage ?? 0:0.0} ok={(g.Ok ? "true" : "false")}"));
        return g.Ok ? 0 : 1;
    }

    private static async Task<int> HttpAsync(Arguments a, CancellationToken ct)
    {
        var options = HttpOptions(a);
        a.EnsureAllUsed();
        var r = await HttpWorkload.RunAsync(options, Console.Out, ct);
        Console.WriteLine($"""

            http {options.Url}: {r.Clients} clients, {r.Users} users
              transfers/s     {r.TransfersPerSecond,12:0.0}   ({r.MeasuredTransfers} answered 201 in {r.MeasuredSeconds:0.00} s)
              latency ms      p50 {r.P50Ms:0.00}  p99 {r.P99Ms:0.00}  max {r.MaxMs:0.00}
              answers         {r.Created} created, {r.Rejected} insufficient funds, {r.Failed} failed{(options.Scenario == HttpScenario.MarketingPayment ? $", {r.Discounted} with a coupon, {r.PointsRedeemed} with points" : "")}
              ledger check    {(r.CheckOk is null ? "skipped (no --operator-key)" : r.CheckOk.Value ? "ok" : "FAILED")}
            """);
        if (options.Scenario != HttpScenario.Transfer)
            Console.WriteLine($"  trades          {r.TradesPrecreated} precreated before the window in {r.PrecreateSeconds:0.0} s" +
                              (r.TradesRanOut ? " (they ran out: the window ended with the last payment; give more with --payment-trades)" : ""));
        foreach (var p in r.Problems) Console.WriteLine($"  PROBLEM: {p}");
        Console.WriteLine(FormattableString.Invariant(
            $"SUMMARY mode=http scenario={ScenarioName(options.Scenario)} clients={r.Clients} tps={r.TransfersPerSecond:0.0} p50_ms={r.P50Ms:0.00} p99_ms={r.P99Ms:0.00} created={r.Created} ok={(r.Ok ? "true" : "false")}"));
        return r.Ok ? 0 : 1;
    }

    private static HttpWorkloadOptions HttpOptions(Arguments a) => new()
    {
        Url = new Uri(a.Required("url")),
        DurationS = a.Double("duration-s", 15),
        WarmupS = a.Double("warmup-s", 2),
        Clients = a.Int("clients", 64),
        Users = a.Int("users", 200),
        Seed = a.Int("seed", 1),
        OperatorKey = a.Optional("operator-key"),
        TransfersMax = a.Long("transfers-max", long.MaxValue),
        PaymentTrades = a.Int("payment-trades", 0),
        Secure = a.Flag("secure"),
        Scenario = a.Optional("scenario") switch
        {
            null or "transfer" => HttpScenario.Transfer,
            "payment" => HttpScenario.Payment,
            "marketing-payment" => HttpScenario.MarketingPayment,
            var other => throw new ArgumentException($"--scenario must be transfer, payment or marketing-payment, not '{other}'"),
        },
    };

    private static string ScenarioName(HttpScenario scenario) => scenario switch
    {
        HttpScenario.Transfer => "transfer",
        HttpScenario.Payment => "payment",
        HttpScenario.MarketingPayment => "marketing-payment",
        _ => throw new ArgumentOutOfRangeException(nameof(scenario), scenario, null),
    };

    private static string Name(DatabaseEngine engine) => engine == DatabaseEngine.Postgres ? "postgres" : "sqlite";

    private static string Truncate(string s, int length) => s.Length <= length ? s : s[..(length - 1)] + "…";

    /// <summary><c>--name value</c> pairs and <c>--flag</c>s; every given option must be used by the command.</summary>
    private sealed class Arguments
    {
        private static readonly HashSet<string> Flags = ["profile", "secure"];
        private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);
        private readonly HashSet<string> used = new(StringComparer.Ordinal);

        public static Arguments Parse(ReadOnlySpan<string> args)
        {
            var a = new Arguments();
            for (var i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'");
                var name = args[i][2..];
                if (Flags.Contains(name)) { a.values[name] = "true"; continue; }
                if (i + 1 >= args.Length) throw new ArgumentException($"--{name} needs a value");
                a.values[name] = args[++i];
            }
            return a;
        }

        public string? Optional(string name)
        {
            used.Add(name);
            return values.GetValueOrDefault(name);
        }

        public string Required(string name) => Optional(name) ?? throw new ArgumentException($"--{name} is required");

        public bool Flag(string name) => Optional(name) is not null;

        public int Int(string name, int fallback) => Optional(name) is { } v
            ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) ? x : throw new ArgumentException($"--{name} must be an integer")
            : fallback;

        public long Long(string name, long fallback) => Optional(name) is { } v
            ? long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) ? x : throw new ArgumentException($"--{name} must be an integer")
            : fallback;

        public double Double(string name, double fallback) => Optional(name) is { } v
            ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : throw new ArgumentException($"--{name} must be a number")
            : fallback;

        public int[] Ints(string name, int[] fallback) => Optional(name) is { } v
            ? [.. v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s =>
                int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) ? x : throw new ArgumentException($"--{name} must be integers separated by commas"))]
            : fallback;

        public DatabaseEngine Engine() => Required("engine") switch
        {
            "postgres" or "pg" => DatabaseEngine.Postgres,
            "sqlite" => DatabaseEngine.Sqlite,
            var other => throw new ArgumentException($"--engine must be postgres or sqlite, not '{other}'"),
        };

        public LedgerWorkloadKind Workload() => Optional("workload") switch
        {
            null or "uniform" => LedgerWorkloadKind.Uniform,
            "hot" => LedgerWorkloadKind.Hot,
            var other => throw new ArgumentException($"--workload must be uniform or hot, not '{other}'"),
        };

        public LedgerExecutorOptions Executor()
        {
            var defaults = new LedgerExecutorOptions();
            var options = new LedgerExecutorOptions
            {
                BatchSizeMax = Int("batch-size-max", defaults.BatchSizeMax),
                BatchWindowUs = Int("batch-window-us", defaults.BatchWindowUs),
                DeepQueueWindowUs = Int("deep-queue-window-us", defaults.DeepQueueWindowUs),
                DeepQueueBatchMin = Int("deep-queue-batch-min", defaults.DeepQueueBatchMin),
                QueueCapacity = Int("queue-capacity", defaults.QueueCapacity),
                BatchesInFlightMax = Int("batches-in-flight-max", defaults.BatchesInFlightMax),
            };
            try
            {
                options.Validate();
            }
            catch (Qianbao.Server.Hosting.ConfigurationRefusedException ex)
            {
                throw new ArgumentException(ex.Message, ex);
            }
            return options;
        }

        public void EnsureAllUsed()
        {
            var unknown = values.Keys.Where(k => !used.Contains(k)).ToList();
            if (unknown.Count > 0) throw new ArgumentException("unknown option(s) for this command: " + string.Join(", ", unknown.Select(k => "--" + k)));
        }
    }
}
