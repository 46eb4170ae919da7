using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Risk;

/// <summary>Each AML rule fires on a scripted history driven through the API, and not on a near miss; cases, resolution, the report.</summary>
public abstract class AmlRuleTests<THost>(THost host) : IClassFixture<THost> where THost : AmlHost
{
    private const long Yuan = 100;

    private async Task<(WalletClient A, WalletClient B)> PairAsync(long topUp)
    {
        var http = host.CreateClient();
        var a = await WalletClient.RegisterAsync(http);
        var b = await WalletClient.RegisterAsync(host.CreateClient());
        if (topUp > 0) await a.TopUpAsync(topUp);
        return (a, b);
    }

    private HttpClient Op() => Aml.Operator(host.CreateClient(), host.OperatorKey);

    [Fact]
    public async Task LargeValueFiresAtFiveHundredThousandADayOneSideAndNotBelow()
    {
        var (a, b) = await PairAsync(600_000 * Yuan);
        await Aml.SendAsync(a, b.UserId, 300_000 * Yuan);
        await Aml.SendAsync(a, b.UserId, 200_000 * Yuan - 1);
        await Aml.MovementsAsync(host.Services, a.UserId, 3);
        // ¥499,999.99 out, and a ¥600,000 top-up (top-ups do not count): a near miss.
        (await Aml.CasesAsync(Op(), a.UserId, "large_value")).ShouldBeEmpty();
        (await Aml.CasesAsync(Op(), b.UserId, "large_value")).ShouldBeEmpty();

        await Aml.SendAsync(a, b.UserId, 1);
        var sender = await Aml.CaseAsync(Op(), a.UserId, "large_value", hits: 3);
        sender["subject_type"]!.GetValue<string>().ShouldBe("user");
        sender["status"]!.GetValue<string>().ShouldBe("open");
        sender["amount_total"]!.GetValue<long>().ShouldBe(500_000 * Yuan);
        sender["hits"]!.AsArray().Count.ShouldBe(3);
        var receiver = await Aml.CaseAsync(Op(), b.UserId, "large_value", hits: 3);
        receiver["amount_total"]!.GetValue<long>().ShouldBe(500_000 * Yuan);

        // The report of that China day lists both sides' movements.
        var at = sender["hits"]![0]!["at"]!.GetValue<DateTimeOffset>().ToOffset(TimeSpan.FromHours(8));
        var csv = await Op().GetAsync($"/admin/v1/reports/large-value?date={at:yyyy-MM-dd}");
        csv.StatusCode.ShouldBe(HttpStatusCode.OK);
        csv.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        var lines = (await csv.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines[0].ShouldBe("date,subject_type,subject_id,movement_id,direction,amount,currency,counterparty_id");
        var mine = lines.Skip(1).Select(l => l.Split(',')).Where(f => f[2] == a.UserId.ToString() || f[2] == b.UserId.ToString()).ToList();
        mine.Count.ShouldBe(6);
        mine.Where(f => f[2] == a.UserId.ToString()).ShouldAllBe(f => f[4] == "out" && f[7] == b.UserId.ToString() && f[6] == "CNY" && f[0] == $"{at:yyyy-MM-dd}");
        mine.Where(f => f[2] == b.UserId.ToString()).Select(f => long.Parse(f[5])).Sum().ShouldBe(500_000 * Yuan);
        (await Op().GetAsync("/admin/v1/reports/large-value?date=2026-13-01")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task StructuringFiresOnFiveJustBelowTheThresholdAndNotOnFour()
    {
        var (near, nearTo) = await PairAsync(2_500_000 * Yuan);
        for (var i = 0; i < 4; i++) await Aml.SendAsync(near, nearTo.UserId, 450_000 * Yuan);
        await Aml.SendAsync(near, nearTo.UserId, 450_000 * Yuan - 1); // 89.99 %: outside the band
        await Aml.MovementsAsync(host.Services, near.UserId, 6);
        (await Aml.CasesAsync(Op(), near.UserId, "structuring")).ShouldBeEmpty();

        var (a, b) = await PairAsync(2_500_000 * Yuan);
        for (var i = 0; i < 5; i++) await Aml.SendAsync(a, b.UserId, 450_000 * Yuan + i);
        var found = await Aml.CaseAsync(Op(), a.UserId, "structuring", hits: 5);
        found["hits"]!.AsArray().Count.ShouldBe(5);
        (await Aml.CasesAsync(Op(), b.UserId, "structuring")).ShouldBeEmpty(); // money in is not structuring
    }

    [Fact]
    public async Task VelocityFiresOnTheTwentyFirstOutgoingMovementInAnHour()
    {
        var (a, b) = await PairAsync(100 * Yuan);
        for (var i = 0; i < 20; i++) await Aml.SendAsync(a, b.UserId, 1);
        await Aml.MovementsAsync(host.Services, a.UserId, 21);
        (await Aml.CasesAsync(Op(), a.UserId, "velocity")).ShouldBeEmpty();

        await Aml.SendAsync(a, b.UserId, 1);
        var found = await Aml.CaseAsync(Op(), a.UserId, "velocity", hits: 21);
        found["amount_total"]!.GetValue<long>().ShouldBe(21);
        (await Aml.CasesAsync(Op(), b.UserId, "velocity")).ShouldBeEmpty();
    }

    [Fact]
    public async Task PassThroughFiresWhenEightyPercentLeavesWithinThirtyMinutes()
    {
        var (a, b) = await PairAsync(100_000 * Yuan);
        await Aml.SendAsync(a, b.UserId, 20_000 * Yuan);
        var c = await WalletClient.RegisterAsync(host.CreateClient());
        await Aml.SendAsync(b, c.UserId, 15_000 * Yuan); // 75 %
        await Aml.MovementsAsync(host.Services, b.UserId, 2);
        (await Aml.CasesAsync(Op(), b.UserId, "pass_through")).ShouldBeEmpty();
        await Aml.SendAsync(b, c.UserId, 1_000 * Yuan); // 80 %
        var found = await Aml.CaseAsync(Op(), b.UserId, "pass_through", hits: 3);
        found["amount_total"]!.GetValue<long>().ShouldBe(36_000 * Yuan);

        // All of it out, but 31 minutes later: a near miss.
        var (s, d) = await PairAsync(100_000 * Yuan);
        await Aml.SendAsync(s, d.UserId, 20_000 * Yuan);
        host.Clock.Advance(TimeSpan.FromMinutes(31));
        await Aml.SendAsync(d, c.UserId, 20_000 * Yuan);
        await Aml.MovementsAsync(host.Services, d.UserId, 2);
        (await Aml.CasesAsync(Op(), d.UserId, "pass_through")).ShouldBeEmpty();
        (await Aml.CasesAsync(Op(), a.UserId, "pass_through")).ShouldBeEmpty(); // a top-up is not money received
    }

    [Fact]
    public async Task ResolvingFrozenFreezesTheWalletAndAResolvedCaseIsFinal()
    {
        var (a, b) = await PairAsync(100 * Yuan);
        for (var i = 0; i < 21; i++) await Aml.SendAsync(a, b.UserId, 1);
        var found = await Aml.CaseAsync(Op(), a.UserId, "velocity", hits: 21);
        var id = found["id"]!.GetValue<Guid>();

        var page = await Op().GetFromJsonAsync<JsonObject>($"/admin/v1/risk/cases/{id}");
        var evidence = page!["evidence"]!.AsArray();
        evidence.Count.ShouldBe(22); // the top-up too, around the hits
        evidence.Count(e => e!["hit"]!.GetValue<bool>()).ShouldBe(21);

        (await Op().PostAsJsonAsync($"/admin/v1/risk/cases/{id}/assign", new { operator_id = "nope" })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var operatorId = Guid.NewGuid();
        var assigned = await Op().PostAsJsonAsync($"/admin/v1/risk/cases/{id}/assign", new { operator_id = operatorId });
        assigned.StatusCode.ShouldBe(HttpStatusCode.OK, await assigned.Content.ReadAsStringAsync());
        var body = (await assigned.Content.ReadFromJsonAsync<JsonObject>())!;
        body["status"]!.GetValue<string>().ShouldBe("assigned");
        body["assigned_to"]!.GetValue<Guid>().ShouldBe(operatorId);

        var bad = await Op().PostAsJsonAsync($"/admin/v1/risk/cases/{id}/resolve", new { decision = "ignored", note = "x" });
        await bad.ShouldBeProblemAsync(400, "invalid_decision");
        var resolved = await Op().PostAsJsonAsync($"/admin/v1/risk/cases/{id}/resolve", new { decision = "frozen", note = "mule account" });
        resolved.StatusCode.ShouldBe(HttpStatusCode.OK, await resolved.Content.ReadAsStringAsync());
        var r = (await resolved.Content.ReadFromJsonAsync<JsonObject>())!;
        r["status"]!.GetValue<string>().ShouldBe("resolved");
        r["decision"]!.GetValue<string>().ShouldBe("frozen");

        var refused = await a.PostAsync("/v1/transfers", new { to_user_id = b.UserId, amount = 1, currency = "CNY" });
        await refused.ShouldBeProblemAsync(422, "account_frozen");

        var again = await Op().PostAsJsonAsync($"/admin/v1/risk/cases/{id}/resolve", new { decision = "cleared", note = "changed my mind" });
        await again.ShouldBeProblemAsync(409, "case_resolved");
        (await Op().GetFromJsonAsync<JsonObject>($"/admin/v1/risk/cases?status=resolved&rule=velocity&limit=100"))!["items"]!.AsArray()
            .ShouldContain(i => i!["id"]!.GetValue<Guid>() == id);
        (await Op().GetAsync("/admin/v1/risk/cases?rule=nope")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Op().GetAsync($"/admin/v1/risk/cases/{Guid.NewGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task CasesPageWithACursor()
    {
        var (a, b) = await PairAsync(1_000_000 * Yuan);
        await Aml.SendAsync(a, b.UserId, 500_000 * Yuan);
        await Aml.CaseAsync(Op(), b.UserId, "large_value");
        var first = (await Op().GetFromJsonAsync<JsonObject>("/admin/v1/risk/cases?limit=1"))!;
        first["items"]!.AsArray().Count.ShouldBe(1);
        var cursor = first["next_cursor"]!.GetValue<string>();
        var second = (await Op().GetFromJsonAsync<JsonObject>($"/admin/v1/risk/cases?limit=1&cursor={cursor}"))!;
        second["items"]![0]!["id"]!.GetValue<Guid>().ShouldNotBe(first["items"]![0]!["id"]!.GetValue<Guid>());
    }
}

public sealed class SqliteAmlRuleTests(AmlSqliteHost host) : AmlRuleTests<AmlSqliteHost>(host);

public sealed class PostgresAmlRuleTests(AmlPostgresHost host) : AmlRuleTests<AmlPostgresHost>(host);

/// <summary>Dormant then active: its own server, because the test moves the clock half a year.</summary>
public abstract class AmlDormantTests<THost>(THost host) : IClassFixture<THost> where THost : AmlHost
{
    [Fact]
    public async Task DormantFor180DaysThenFiftyThousandInADayFiresAndAfter179DaysDoesNot()
    {
        var http = host.CreateClient();
        var sleeper = await WalletClient.RegisterAsync(http);
        var early = await WalletClient.RegisterAsync(http);
        var to = await WalletClient.RegisterAsync(http);
        await sleeper.TopUpAsync(60_000_00);
        await early.TopUpAsync(60_000_00);
        await Aml.MovementsAsync(host.Services, sleeper.UserId, 1);
        await Aml.MovementsAsync(host.Services, early.UserId, 1);

        host.Clock.Advance(TimeSpan.FromDays(179));
        early = new WalletClient(http, early.UserId, early.Phone, await WalletClient.TokenAsync(http, early.Phone, "correct horse"));
        await Aml.SendAsync(early, to.UserId, 50_000_00);
        await Aml.MovementsAsync(host.Services, early.UserId, 2);
        var op = Aml.Operator(host.CreateClient(), host.OperatorKey);
        (await Aml.CasesAsync(op, early.UserId, "dormant_active")).ShouldBeEmpty();

        host.Clock.Advance(TimeSpan.FromDays(2));
        sleeper = new WalletClient(http, sleeper.UserId, sleeper.Phone, await WalletClient.TokenAsync(http, sleeper.Phone, "correct horse"));
        await Aml.SendAsync(sleeper, to.UserId, 49_999_99);
        await Aml.MovementsAsync(host.Services, sleeper.UserId, 2);
        (await Aml.CasesAsync(op, sleeper.UserId, "dormant_active")).ShouldBeEmpty(); // ¥49,999.99: a near miss
        await Aml.SendAsync(sleeper, to.UserId, 1);
        var found = await Aml.CaseAsync(op, sleeper.UserId, "dormant_active", hits: 2);
        found["amount_total"]!.GetValue<long>().ShouldBe(50_000_00);
    }
}

public sealed class SqliteAmlDormantTests(AmlSqliteHost host) : AmlDormantTests<AmlSqliteHost>(host);

public sealed class PostgresAmlDormantTests(AmlPostgresHost host) : AmlDormantTests<AmlPostgresHost>(host);
