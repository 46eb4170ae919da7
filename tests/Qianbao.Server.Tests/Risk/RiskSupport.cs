using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Risk;

/// <summary>A relaxed server (no tier limits, no PINs) whose clock the tests move, with subscribers polling often.</summary>
public abstract class AmlHost(DatabaseEngine engine) : QianbaoHost(engine)
{
    public ShiftedClock Clock { get; } = new();

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Clock);

    protected override IEnumerable<KeyValuePair<string, string?>> Settings() => [new("Qianbao:Events:PollIntervalMs", "50")];
}

public sealed class AmlSqliteHost() : AmlHost(DatabaseEngine.Sqlite);

public sealed class AmlPostgresHost() : AmlHost(DatabaseEngine.Postgres);

/// <summary>The operator's side of AML in tests: cases through the API, and how far the subscriber got (its movement log).</summary>
public static class Aml
{
    public static HttpClient Operator(HttpClient http, string key)
    {
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    /// <summary>The cases about <paramref name="subjectId"/> of <paramref name="rule"/> (every status).</summary>
    public static async Task<IReadOnlyList<JsonObject>> CasesAsync(HttpClient op, Guid subjectId, string rule)
    {
        var found = new List<JsonObject>();
        string? cursor = null;
        do
        {
            var response = await op.GetAsync($"/admin/v1/risk/cases?rule={rule}&limit=100" + (cursor is null ? "" : "&cursor=" + cursor));
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            found.AddRange(body["items"]!.AsArray().Select(i => i!.AsObject()).Where(i => i["subject_id"]!.GetValue<Guid>() == subjectId));
            cursor = body["next_cursor"]?.GetValue<string>();
        } while (cursor is not null);
        return found;
    }

    public static async Task<JsonObject> CaseAsync(HttpClient op, Guid subjectId, string rule, int hits = 1)
    {
        JsonObject? found = null;
        await Poll.UntilAsync(async () =>
        {
            var cases = await CasesAsync(op, subjectId, rule);
            found = cases.FirstOrDefault(c => c["hits"]!.AsArray().Count >= hits || (rule == "watchlist" && hits == 0));
            return found is not null;
        }, $"a {rule} case about {subjectId}");
        return found!;
    }

    /// <summary>Waits until the AML subscriber has logged <paramref name="count"/> movements of the subject (so a missing case is a real miss).</summary>
    public static async Task MovementsAsync(IServiceProvider services, Guid subjectId, int count)
    {
        var db = services.GetRequiredService<Db>();
        await Poll.UntilAsync(async () =>
        {
            await using var connection = await db.OpenAsync();
            return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM aml_movements WHERE subject_id = @subjectId", new { subjectId }) >= count;
        }, $"{count} movements of {subjectId} in the AML log");
        await using var c = await db.OpenAsync();
        (await c.ExecuteScalarAsync<long>("SELECT count(*) FROM aml_movements WHERE subject_id = @subjectId", new { subjectId })).ShouldBe(count);
    }

    public static async Task SendAsync(WalletClient from, Guid to, long amount)
    {
        var response = await from.PostAsync("/v1/transfers", new { to_user_id = to, amount, currency = "CNY" });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }
}
