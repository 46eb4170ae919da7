using Dapper;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Risk;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Events;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Risk;

/// <summary>
/// A crash between a money event and its AML evaluation loses no hit and counts none twice: a first server whose AML
/// subscriber dies (before, or after, its work committed but before the checkpoint moved), then a second server on the
/// same database that finishes the job.
/// </summary>
public abstract class AmlCrashTests(DatabaseEngine engine)
{
    private const string Key = "aml-crash-operator-key";

    /// <summary>The AML subscriber under its own name, dying on every batch: before it does anything, or after its transaction committed.</summary>
    private sealed class Crashing(IEventSubscriber inner, bool afterWork) : IEventSubscriber
    {
        public int Attempts;
        public string Name => inner.Name;
        public IReadOnlySet<string>? Handles => inner.Handles;

        public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct)
        {
            Interlocked.Increment(ref Attempts);
            if (afterWork) await inner.HandleAsync(events, ct);
            throw new IOException("the process died before the checkpoint moved");
        }
    }

    private static WebApplicationFactory<Program> Start(EventsDatabase database, Func<IServiceProvider, IEventSubscriber, IEventSubscriber>? wrap) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Qianbao:DataDir", database.DataDir);
            b.UseSetting("Qianbao:OperatorKey", Key);
            b.UseSetting("Qianbao:Auth:PasswordIterations", "1000");
            b.UseSetting("Qianbao:Sandbox:ConfirmDelayMs", "20");
            b.UseSetting("Logging:LogLevel:Default", "Warning");
            b.UseSetting("Qianbao:Events:PollIntervalMs", "50");
            b.UseSetting("Qianbao:Events:RetryDelayMaxMs", "100");
            b.UseSetting("Qianbao:Security:Relaxed", "true");
            if (database.PostgresConnectionString is not null) b.UseSetting("ConnectionStrings:Postgres", database.PostgresConnectionString);
            if (wrap is not null)
            {
                b.ConfigureTestServices(services =>
                {
                    var real = services.Single(d => d.ServiceType == typeof(IEventSubscriber) && d.ImplementationType == typeof(AmlSubscriber));
                    services.Remove(real);
                    services.AddSingleton<IEventSubscriber>(sp => wrap(sp, ActivatorUtilities.CreateInstance<AmlSubscriber>(sp)));
                });
            }
        });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ACrashBetweenTheEventAndItsEvaluationLosesNoHitAndCountsNoneTwice(bool afterWork)
    {
        using var database = await EventsDatabase.CreateAsync(engine);
        Crashing? crashing = null;
        Guid a, b;
        await using (var first = Start(database, (_, inner) => crashing = new Crashing(inner, afterWork)))
        {
            var http = first.CreateClient();
            var sender = await WalletClient.RegisterAsync(http);
            var receiver = await WalletClient.RegisterAsync(first.CreateClient());
            (a, b) = (sender.UserId, receiver.UserId);
            await sender.TopUpAsync(500_000_00);
            await Aml.SendAsync(sender, receiver.UserId, 500_000_00);
            // The transfer's event was delivered and the subscriber died on it (at least twice: it is retried, never skipped).
            await Poll.UntilAsync(() => Task.FromResult(crashing!.Attempts >= 2), "the AML subscriber to crash on the transfer");
        }

        await using var second = Start(database, null);
        var op = Aml.Operator(second.CreateClient(), Key);
        var found = await Aml.CaseAsync(op, a, "large_value");
        found["amount_total"]!.GetValue<long>().ShouldBe(500_000_00);
        await Aml.MovementsAsync(second.Services, a, 2); // the top-up and the transfer, once each
        await Aml.CaseAsync(op, b, "large_value");
        // Let the runner settle, then check nothing was added twice.
        var db = second.Services.GetRequiredService<Db>();
        await Poll.UntilAsync(async () =>
        {
            await using var c = await db.OpenAsync();
            return await c.ExecuteScalarAsync<long>("SELECT failures FROM event_subscriptions WHERE name = 'risk.aml'") == 0;
        }, "the AML subscriber to run cleanly");
        (await Aml.CasesAsync(op, a, "large_value")).Count.ShouldBe(1);
        (await Aml.CasesAsync(op, a, "large_value"))[0]["hits"]!.AsArray().Count.ShouldBe(1);
    }
}

public sealed class SqliteAmlCrashTests() : AmlCrashTests(DatabaseEngine.Sqlite);

public sealed class PostgresAmlCrashTests() : AmlCrashTests(DatabaseEngine.Postgres);
