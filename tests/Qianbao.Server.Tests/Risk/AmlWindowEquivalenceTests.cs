using Dapper;
using Qianbao.Ledger;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Risk;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Risk;

/// <summary>
/// The AML subscriber decides exactly as before when it holds subjects' windows in memory (<see cref="AmlWindows"/>): one
/// scripted stream of movements (velocity, structuring, pass-through, large value, dormant then active, out-of-order times, a redelivered batch)
/// goes through a subscriber that keeps windows and, for a copy of the same people, through one that never keeps any (each
/// batch read from the database, as before); the hits and cases must be the same, person for person.
/// </summary>
public abstract class AmlWindowEquivalenceTests<THost>(THost host) : IClassFixture<THost> where THost : AmlHost
{
    private const long Yuan = 100;

    private sealed record Step(int From, int To, long AmountMinor, long AtOffsetUs, bool TopUp = false);

    /// <summary>A history of six people over two hours: bursts (velocity), amounts just under ¥500,000 (structuring), money passed on.</summary>
    private static List<Step> Script()
    {
        var steps = new List<Step>();
        var random = new Random(7);
        // A top-up 200 days before: each person is dormant until the day's first movement (dormant then active fires), and
        // the log, or the window's memory of its answer, says when each last moved before the day.
        for (var p = 0; p < 6; p++) steps.Add(new Step(p, p, 1_000 * Yuan, -200 * 86_400_000_000L + p, TopUp: true));
        for (var p = 0; p < 6; p++) steps.Add(new Step(p, p, 2_000_000 * Yuan, p, TopUp: true));
        var at = 1_000_000L;
        for (var i = 0; i < 160; i++)
        {
            at += random.Next(1, 90) * 1_000_000L; // 1..90 s apart
            var from = random.Next(0, 6);
            var to = (from + 1 + random.Next(0, 5)) % 6;
            var amount = (i % 7) switch
            {
                0 or 3 => 455_000 * Yuan + random.Next(0, 45_000) * Yuan, // 91-100 % of the ¥500,000 large value
                1 => 120_000 * Yuan,
                _ => random.Next(1, 5_000) * Yuan,
            };
            // Now and then an event that occurred a little before the one delivered ahead of it.
            var skew = i % 11 == 5 ? -30_000_000L : 0;
            steps.Add(new Step(from, to, amount, at + skew));
        }
        return steps;
    }

    private static List<StoredEvent> Events(IReadOnlyList<Step> steps, Guid[] people, long startUs, string salt)
    {
        var list = new List<StoredEvent>();
        for (var i = 0; i < steps.Count; i++)
        {
            var s = steps[i];
            DomainEvent e = s.TopUp
                ? new TopUpSucceeded(StableId.From("aml-eq", $"{salt}/top-up/{i}"), people[s.To], s.AmountMinor, "CNY", "sandbox")
                : new TransferCompleted(StableId.From("aml-eq", $"{salt}/transfer/{i}"), people[s.From], people[s.To], s.AmountMinor, "CNY");
            list.Add(new StoredEvent(new EventPosition(0, i + 1), StableId.From("aml-eq", $"{salt}/event/{i}"), EventTypes.NameOf(e.GetType()), e.Stream,
                EventTypes.Serialize(e), startUs + s.AtOffsetUs));
        }
        return list;
    }

    private async Task RunAsync(AmlSubscriber subscriber, List<StoredEvent> events)
    {
        var sizes = new[] { 1, 7, 3, 19, 2, 11 };
        var i = 0;
        for (var n = 0; i < events.Count; n++)
        {
            var batch = events.Skip(i).Take(sizes[n % sizes.Length]).ToList();
            await subscriber.HandleAsync(batch, CancellationToken.None);
            // Every fifth batch delivered again (as after a crash between the commit and the checkpoint).
            if (n % 5 == 4) await subscriber.HandleAsync(batch, CancellationToken.None);
            i += batch.Count;
        }
    }

    private async Task<List<string>> OutcomeAsync(Guid[] people)
    {
        var db = host.Services.GetRequiredService<Db>();
        var index = people.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => x.i);
        var (inSubjects, ids) = db.IdIn("subject_id", people);
        await using var connection = await db.OpenAsync();
        var hits = await connection.QueryAsync<(string Rule, Guid Subject, long Amount, long At)>(
            $"SELECT rule, subject_id, amount_minor, at_us FROM risk_hits WHERE {inSubjects}", new { ids });
        var cases = await connection.QueryAsync<(string Rule, Guid Subject, string Detail, Guid Id)>(
            $"SELECT rule, subject_id, detail, id FROM risk_cases WHERE {inSubjects}", new { ids });
        var caseHits = await connection.QueryAsync<(Guid Case, long Count)>(
            $"SELECT case_id, count(*) FROM risk_hits WHERE {inSubjects} GROUP BY case_id", new { ids });
        var counts = caseHits.ToDictionary(c => c.Case, c => c.Count);
        return [.. hits.Select(h => $"hit {h.Rule} {index[h.Subject]} {h.Amount} {h.At}")
            .Concat(cases.Select(c => $"case {c.Rule} {index[c.Subject]} {c.Detail} {counts.GetValueOrDefault(c.Id)}"))
            .Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task HoldingWindowsInMemoryRecordsTheSameHitsAndCasesAsReadingEachBatch()
    {
        var services = host.Services;
        var startUs = host.Clock.GetUtcNow().ToUnixTimeMilliseconds() * 1000 - 3 * 3_600_000_000L;
        var steps = Script();
        var withWindows = Enumerable.Range(0, 6).Select(_ => Guid.NewGuid()).ToArray();
        var without = Enumerable.Range(0, 6).Select(_ => Guid.NewGuid()).ToArray();
        var windows = new AmlWindows();
        var keeping = ActivatorUtilities.CreateInstance<AmlSubscriber>(services, windows);
        var reading = ActivatorUtilities.CreateInstance<AmlSubscriber>(services, new AmlWindows(subjectsMax: 0));

        await RunAsync(keeping, Events(steps, withWindows, startUs, "keeping"));
        await RunAsync(reading, Events(steps, without, startUs, "reading"));

        windows.Count.ShouldBeGreaterThan(0);
        var expected = await OutcomeAsync(without);
        expected.ShouldContain(o => o.StartsWith("hit velocity", StringComparison.Ordinal));
        expected.ShouldContain(o => o.StartsWith("hit structuring", StringComparison.Ordinal));
        expected.ShouldContain(o => o.StartsWith("hit large_value", StringComparison.Ordinal));
        expected.ShouldContain(o => o.StartsWith("hit dormant_active", StringComparison.Ordinal));
        (await OutcomeAsync(withWindows)).ShouldBe(expected);
    }
}

public sealed class SqliteAmlWindowEquivalenceTests(AmlSqliteHost host) : AmlWindowEquivalenceTests<AmlSqliteHost>(host);

public sealed class PostgresAmlWindowEquivalenceTests(AmlPostgresHost host) : AmlWindowEquivalenceTests<AmlPostgresHost>(host);
