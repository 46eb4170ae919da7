using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Merchants;

/// <summary>An operator registering a merchant gives its unified social credit code (or, by the older name, licence_no), checked by GB 32100.</summary>
public abstract class CreditCodeAtCreationTests<THost>(THost host) : IClassFixture<THost> where THost : QianbaoHost
{
    private HttpClient Op()
    {
        var http = host.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.OperatorKey);
        return http;
    }

    private Task<HttpResponseMessage> CreateAsync(object body) => Op().PostAsJsonAsync("/admin/v1/merchants", body);

    [Fact]
    public async Task An_invalid_code_is_refused_and_nothing_is_registered()
    {
        var good = CreditCodes.New();
        var bad = good[..17] + (good[17] == '0' ? '1' : '0');
        await (await CreateAsync(new { name = "Bad Code", credit_code = bad, legal_person = "Wang", contact_phone = "13800138000", fee_bps = 60 }))
            .ShouldBeProblemAsync(400, "invalid_credit_code");
        await (await CreateAsync(new { name = "Old Name", licence_no = "LIC-123", legal_person = "Wang", contact_phone = "13800138000", fee_bps = 60 }))
            .ShouldBeProblemAsync(400, "invalid_credit_code");
        await (await CreateAsync(new { name = "No Code", legal_person = "Wang", contact_phone = "13800138000", fee_bps = 60 }))
            .ShouldBeProblemAsync(400, "invalid_credit_code");
        await (await CreateAsync(new { name = "Two Codes", credit_code = good, licence_no = CreditCodes.New(), legal_person = "Wang", contact_phone = "13800138000", fee_bps = 60 }))
            .ShouldBeProblemAsync(400, "invalid_licence_no");
        // The refused code was not registered: the valid one still registers, once, whichever name it comes by.
        var created = await CreateAsync(new { name = "Good Code", credit_code = good.ToLowerInvariant(), legal_person = "Wang", contact_phone = "13800138000", fee_bps = 60 });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var shown = (await Op().GetFromJsonAsync<JsonObject>($"/admin/v1/merchants/{id}"))!;
        shown["licence_no"]!.GetValue<string>().ShouldBe(good);
        await (await CreateAsync(new { name = "Again", licence_no = good, legal_person = "Wang", contact_phone = "13800138000", fee_bps = 60 }))
            .ShouldBeProblemAsync(409, "licence_taken");
    }
}

public sealed class SqliteCreditCodeAtCreationTests(SqliteHost host) : CreditCodeAtCreationTests<SqliteHost>(host);

public sealed class PostgresCreditCodeAtCreationTests(PostgresHost host) : CreditCodeAtCreationTests<PostgresHost>(host);
