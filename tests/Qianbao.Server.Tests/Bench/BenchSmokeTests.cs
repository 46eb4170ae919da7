using System.Diagnostics;
using Qianbao.Bench;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Bench;

/// <summary>
/// The benchmark's load generators, run in-process with tiny counts so that they cannot rot: each run must
/// acknowledge transfers and pass its own correctness checks (ledger check, every acknowledged transfer
/// stored, amounts summed). The figures themselves are not asserted; bench/run.sh measures them.
/// </summary>
public sealed class BenchSmokeTests
{
    private static LedgerWorkloadOptions Tiny(DatabaseEngine engine, string connection, LedgerWorkloadKind workload) => new()
    {
        Engine = engine,
        Connection = connection,
        Accounts = 50,
        Clients = 16,
        WarmupS = 0,
        DurationS = 60, // an upper bound only: the transfer budget ends the run
        TransfersMax = 600,
        Workload = workload,
        Seed = 7,
    };

    [Theory]
    [InlineData(LedgerWorkloadKind.Uniform)]
    [InlineData(LedgerWorkloadKind.Hot)]
    public async Task LedgerWorkloadOnSqlitePassesItsChecks(LedgerWorkloadKind workload)
    {
        var dir = Directory.CreateTempSubdirectory("qianbao-bench-smoke-");
        try
        {
            var result = await LedgerWorkload.RunAsync(Tiny(DatabaseEngine.Sqlite, Path.Combine(dir.FullName, "ledger.db"), workload));
            AssertPassed(result);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(LedgerWorkloadKind.Uniform)]
    [InlineData(LedgerWorkloadKind.Hot)]
    public async Task LedgerWorkloadOnPostgresPassesItsChecks(LedgerWorkloadKind workload)
    {
        var connection = await PostgresCluster.Shared.CreateDatabaseAsync("bench");
        var result = await LedgerWorkload.RunAsync(Tiny(DatabaseEngine.Postgres, connection, workload));
        AssertPassed(result);
    }

    [Fact]
    public async Task HttpFloorAnswersTheTransferRequestAndRefusesOneWithoutAToken()
    {
        using var stop = new CancellationTokenSource();
        var port = HttpFloor.FreePort();
        var server = HttpFloor.ServeAsync(port, stop.Token);
        try
        {
            var output = new StringWriter();
            var exit = await HttpFloor.RunAsync(new HttpFloor.Options(Clients: 4, DurationS: 1, WarmupS: 0, Port: port), output, CancellationToken.None);
            exit.ShouldBe(0, output.ToString());
            output.ToString().ShouldContain("ok=true");

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            using var anonymous = await http.PostAsync("/v1/transfers", new StringContent("""{"to_user_id":"0190a1b2-0000-7000-8000-000000000001","amount":5,"currency":"CNY"}""",
                System.Text.Encoding.UTF8, "application/json"), CancellationToken.None);
            anonymous.StatusCode.ShouldBe(System.Net.HttpStatusCode.BadRequest);
        }
        finally
        {
            await stop.CancelAsync();
            await server;
        }
    }

    [Fact]
    public async Task CampaignWorkloadOnPostgresPassesItsChecks()
    {
        // 2,000 people: the population, the set-based send and the COPY, with every count checked (exit code 0).
        var connection = await PostgresCluster.Shared.CreateDatabaseAsync("bench_campaign");
        using var loggers = Microsoft.Extensions.Logging.LoggerFactory.Create(_ => { });
        (await CampaignWorkload.RunAsync(new CampaignBenchOptions(connection, 2_000, 1_000, 1), loggers, CancellationToken.None)).ShouldBe(0);
    }

    [Fact]
    public async Task GrowthFixtureOnPostgresLeavesTheLedgerConsistent()
    {
        // A migrated database grown set-based: every balance must still equal the sum of its transfers, and no wallet be overdrawn.
        var connection = await PostgresCluster.Shared.CreateDatabaseAsync("bench_growth");
        string Key() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        using var loggers = Microsoft.Extensions.Logging.LoggerFactory.Create(_ => { });
        (await GrowthFixture.RunAsync(new GrowthFixtureOptions(connection, 2_000, 20_000, 0, 30, "k1:" + Key(), Key()), loggers, TextWriter.Null,
            CancellationToken.None)).ShouldBe(0);
        await using var db = LedgerFixture.OpenDb(DatabaseEngine.Postgres, connection);
        var check = await Qianbao.Server.Money.LedgerCheck.RunAsync(db, CancellationToken.None);
        check.Violations.ShouldBeEmpty();
        check.Ok.ShouldBeTrue();
        await using var c = await db.OpenAsync();
        (await Dapper.SqlMapper.ExecuteScalarAsync<long>(c, "SELECT count(*) FROM transfers")).ShouldBe(20_000);
        (await Dapper.SqlMapper.ExecuteScalarAsync<long>(c, "SELECT count(*) FROM users")).ShouldBe(2_000);
    }

    [Fact]
    public async Task LedgerWorkloadRefusesADatabaseThatHoldsTransfers()
    {
        // The after-run checks compare the whole transfers table with what was acknowledged, so a reused database must be refused.
        var connection = await PostgresCluster.Shared.CreateDatabaseAsync("bench_reused");
        AssertPassed(await LedgerWorkload.RunAsync(Tiny(DatabaseEngine.Postgres, connection, LedgerWorkloadKind.Uniform)));
        var again = await Should.ThrowAsync<InvalidOperationException>(() =>
            LedgerWorkload.RunAsync(Tiny(DatabaseEngine.Postgres, connection, LedgerWorkloadKind.Uniform)));
        again.Message.ShouldContain("fresh database");
    }

    [Fact]
    public async Task HttpWorkloadAgainstTheServerPassesItsChecks()
    {
        var result = await RunHttpAsync(new SqliteHost(), operatorKey => new HttpWorkloadOptions
        {
            Users = 6, Clients = 4, WarmupS = 0, DurationS = 60, TransfersMax = 60, OperatorKey = operatorKey,
        });
        result.Created.ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task SecureHttpWorkloadSetsUsersUpAndPaysWithThePin()
    {
        var result = await RunHttpAsync(new SecureBenchHost(), operatorKey => new HttpWorkloadOptions
        {
            Users = 4, Clients = 2, WarmupS = 0, DurationS = 60, TransfersMax = 30, OperatorKey = operatorKey, Secure = true,
        });
        result.Created.ShouldBeGreaterThan(0);
    }

    [Theory]
    [InlineData(HttpScenario.Payment)]
    [InlineData(HttpScenario.MarketingPayment)]
    public async Task PaymentScenariosPrecreateThroughTheGatewayAndPayByQr(HttpScenario scenario)
    {
        var result = await RunHttpAsync(new SecureBenchHost(), operatorKey => new HttpWorkloadOptions
        {
            Users = 3, Clients = 2, WarmupS = 0, DurationS = 60, TransfersMax = 12, OperatorKey = operatorKey, Secure = true, Scenario = scenario,
        });
        result.Created.ShouldBe(12);
        // Without marketing nothing is taken off; with it, every payment has a coupon (each buyer holds 100) and redeems points.
        result.Discounted.ShouldBe(scenario == HttpScenario.MarketingPayment ? 12 : 0);
        result.PointsRedeemed.ShouldBe(scenario == HttpScenario.MarketingPayment ? 12 : 0);
    }

    /// <summary>Runs the HTTP workload in-process against <paramref name="host"/>; it must pass its own checks and the ledger check.</summary>
    private static async Task<HttpWorkloadResult> RunHttpAsync(QianbaoHost host, Func<string, HttpWorkloadOptions> options)
    {
        await host.InitializeAsync();
        try
        {
            var result = await HttpWorkload.RunAsync(options(host.OperatorKey), host.CreateClient());
            result.Problems.ShouldBeEmpty();
            result.CheckOk.ShouldBe(true);
            return result;
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    /// <summary>Account security on, without the new-device step-up window (the workload does not answer step-up challenges).</summary>
    private sealed class SecureBenchHost() : SecureHost(Qianbao.Server.Storage.DatabaseEngine.Sqlite)
    {
        protected override IEnumerable<KeyValuePair<string, string?>> SecureSettings() => [new("Qianbao:Security:NewDeviceStepUpHours", "0")];
    }

    [Fact]
    public void LatencyHistogramPercentilesAreWithinItsPrecision()
    {
        var histogram = new LatencyHistogram();
        var ticksPerMs = Stopwatch.Frequency / 1000.0;
        for (var ms = 1; ms <= 1000; ms++) histogram.Record((long)(ms * ticksPerMs));
        histogram.Count.ShouldBe(1000);
        histogram.PercentileMs(50).ShouldBe(500, tolerance: 500 * 0.01);
        histogram.PercentileMs(99).ShouldBe(990, tolerance: 990 * 0.01);
        histogram.PercentileMs(100).ShouldBe(1000, tolerance: 1e-6);
        histogram.MaxMs.ShouldBe(1000, tolerance: 1e-6);
        new LatencyHistogram().PercentileMs(99).ShouldBe(0);
    }

    private static void AssertPassed(LedgerWorkloadResult result)
    {
        result.Problems.ShouldBeEmpty();
        result.Ok.ShouldBeTrue();
        result.Check.Ok.ShouldBeTrue();
        result.Acknowledged.ShouldBeGreaterThan(0);
        result.MeasuredTransfers.ShouldBeGreaterThan(0);
        result.FoundCount.ShouldBe(result.Acknowledged);
        result.StoredCount.ShouldBe(result.Acknowledged);
        result.FoundAmount.ShouldBe(result.AcknowledgedAmount);
        (result.Acknowledged + result.Rejected).ShouldBe(600);
        result.Batches.ShouldBeGreaterThan(0);
    }
}
