using System.Text.RegularExpressions;
using Npgsql;
using Qianbao.Server.Modules.Points;

namespace Qianbao.Server.Tests.Points;

/// <summary>
/// On PostgreSQL every read of a person's lots on the payment path (the usable sum, the batch's guard, the redemption) walks
/// points_lots_live, the partial index of the lots with points left (migration 0048), in its generic plan: a partial index serves
/// only a statement whose filters imply its predicate, so a statement that forgot <c>remaining &lt;&gt; 0</c> (or said
/// <c>remaining &gt; 0</c>) would read every lot the person ever earned, or everyone's live lots.
/// </summary>
public sealed partial class PointsLiveLotsIndexTests(PostgresPointsServer server) : IClassFixture<PostgresPointsServer>
{
    public static TheoryData<string> Statements => new() { "usable", "guard", "consumed" };

    [Theory]
    [MemberData(nameof(Statements))]
    public async Task ThePaymentPathReadsOnlyTheLiveLots(string statement)
    {
        var (sql, arguments) = statement switch
        {
            "usable" => (PointsStore.UsableSql, new Dictionary<string, string> { ["userId"] = Uuid(), ["nowUs"] = "0" }),
            "guard" => (PointsUsableGuardChecker.GuardSqlPostgres,
                new Dictionary<string, string> { ["users"] = $"{{{Uuid()}}}", ["afters"] = "{0}", ["points"] = "{100}" }),
            "consumed" => (PointsStore.ConsumedSqlPostgres, new Dictionary<string, string>
            {
                ["ids"] = $"{{{Uuid()}}}", ["users"] = $"{{{Uuid()}}}", ["amounts"] = "{100}", ["ats"] = "{0}", ["margin"] = "0",
            }),
            _ => throw new ArgumentOutOfRangeException(nameof(statement)),
        };
        var names = new List<string>();
        var positional = Parameter().Replace(sql, m =>
        {
            var at = names.IndexOf(m.Groups[1].Value);
            if (at < 0) names.Add(m.Groups[1].Value);
            return "$" + (at < 0 ? names.Count : at + 1);
        });
        names.Order().ShouldBe(arguments.Keys.Order(), "the statement's parameters");

        await using var connection = (NpgsqlConnection)await server.Db.OpenAsync();
        await using (var settings = new NpgsqlCommand(
            "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; SET enable_bitmapscan = off", connection))
            await settings.ExecuteNonQueryAsync();
        await using (var prepare = new NpgsqlCommand($"PREPARE lots AS {positional}", connection)) await prepare.ExecuteNonQueryAsync();
        var plan = new List<string>();
        await using (var explain = new NpgsqlCommand($"EXPLAIN EXECUTE lots ({string.Join(", ", names.Select(n => $"'{arguments[n]}'"))})", connection))
        await using (var rows = await explain.ExecuteReaderAsync())
            while (await rows.ReadAsync()) plan.Add(rows.GetString(0));
        var text = string.Join("\n", plan);
        text.ShouldContain("points_lots_live", customMessage: text);
        text.ShouldNotContain("points_lots_due", customMessage: text);
        text.ShouldNotContain("Seq Scan on points_lots", customMessage: text);
    }

    private static string Uuid() => Guid.NewGuid().ToString();

    [GeneratedRegex(@"(?<![:@\w])@(\w+)")]
    private static partial Regex Parameter();
}
