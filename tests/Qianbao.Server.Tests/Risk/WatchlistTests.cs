using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Modules.Risk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Risk;

/// <summary>Watchlist entries, and screening at real-name verification and merchant onboarding, with account security on.</summary>
public abstract class WatchlistTests<THost>(THost host) : IClassFixture<THost> where THost : SecureHost
{
    private HttpClient Op() => Aml.Operator(host.CreateClient(), host.OperatorKey);

    private async Task<Guid> AddAsync(string name, string? idNumber = null)
    {
        var response = await Op().PostAsJsonAsync("/admin/v1/risk/watchlist", new { name, id_number = idNumber, list = "test sanctions", note = "from a test" });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.IdAsync();
    }

    private async Task<(SecureUser User, HttpResponseMessage Answer)> VerifyAsync(string name, string idNumber)
    {
        var user = await SecureUser.CreateAsync(host.CreateClient(), host.OperatorKey, name, verifyIdentity: false);
        return (user, await user.SendAsync(HttpMethod.Post, "/v1/me/identity", new { name, id_number = idNumber }));
    }

    private static async Task ShouldBeUnderReviewAsync(HttpResponseMessage response)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        body["tier"]!.GetValue<string>().ShouldBe("unverified");
        body["status"]!.GetValue<string>().ShouldBe("under_review");
    }

    private async Task<JsonObject> ResolveAsync(Guid subjectId, string decision)
    {
        var found = await Aml.CaseAsync(Op(), subjectId, "watchlist", hits: 0);
        var resolved = await Op().PostAsJsonAsync($"/admin/v1/risk/cases/{found["id"]}/resolve", new { decision, note = "reviewed" });
        resolved.StatusCode.ShouldBe(HttpStatusCode.OK, await resolved.Content.ReadAsStringAsync());
        return found;
    }

    [Fact]
    public async Task EntriesAreAddedListedAndDeleted()
    {
        var id = await AddAsync("Ivan Petrov", "P1234567");
        var list = (await Op().GetFromJsonAsync<JsonObject>("/admin/v1/risk/watchlist"))!["items"]!.AsArray();
        var entry = list.Single(i => i!["id"]!.GetValue<Guid>() == id)!;
        entry["id_number"]!.GetValue<string>().ShouldBe("P1234567");
        entry["list"]!.GetValue<string>().ShouldBe("test sanctions");
        (await Op().DeleteAsync($"/admin/v1/risk/watchlist/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await Op().DeleteAsync($"/admin/v1/risk/watchlist/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Op().GetFromJsonAsync<JsonObject>("/admin/v1/risk/watchlist"))!["items"]!.AsArray().ShouldNotContain(i => i!["id"]!.GetValue<Guid>() == id);
        await (await Op().PostAsJsonAsync("/admin/v1/risk/watchlist", new { name = "X Y", note = "" })).ShouldBeProblemAsync(400, "invalid_list");
        await (await Op().PostAsJsonAsync("/admin/v1/risk/watchlist", new { name = " ", list = "l" })).ShouldBeProblemAsync(400, "invalid_name");
    }

    [Fact]
    public async Task ANameHitKeepsTheAccountUnverifiedUntilTheCaseIsCleared()
    {
        await AddAsync("张伟明");
        var (user, answer) = await VerifyAsync("張偉明", SecureUser.NewIdNumber()); // traditional characters of the listed name
        await ShouldBeUnderReviewAsync(answer);
        (await user.GetJsonAsync("/v1/me"))["tier"]!.GetValue<string>().ShouldBe("unverified");
        await ShouldBeUnderReviewAsync(await user.SendAsync(HttpMethod.Post, "/v1/me/identity", new { name = "張偉明", id_number = SecureUser.NewIdNumber() }));
        var refused = await user.SendAsync(HttpMethod.Post, "/v1/topups", new { amount = 100, currency = "CNY" });
        await refused.ShouldBeProblemAsync(403, "identity_required");

        var found = await ResolveAsync(user.UserId, "cleared");
        found["subject_type"]!.GetValue<string>().ShouldBe("user");
        found["hits"]!.AsArray().ShouldBeEmpty();
        (await user.GetJsonAsync("/v1/me"))["tier"]!.GetValue<string>().ShouldBe("class_i");
    }

    [Fact]
    public async Task AnIdNumberHitReportedStaysUnverifiedAndNearMissesPass()
    {
        var listed = SecureUser.NewIdNumber();
        await AddAsync("Someone Else Entirely", listed);
        var (user, answer) = await VerifyAsync("赵一鸣", listed);
        await ShouldBeUnderReviewAsync(answer);
        await ResolveAsync(user.UserId, "reported");
        (await user.GetJsonAsync("/v1/me"))["tier"]!.GetValue<string>().ShouldBe("unverified");

        await AddAsync("欧阳建华");
        // One character off a listed name of 3+ characters is a hit; two characters with one off is not.
        var (close, closeAnswer) = await VerifyAsync("欧阳建平", SecureUser.NewIdNumber());
        await ShouldBeUnderReviewAsync(closeAnswer);
        await AddAsync("钱多");
        var (shortName, shortAnswer) = await VerifyAsync("钱少", SecureUser.NewIdNumber());
        shortAnswer.StatusCode.ShouldBe(HttpStatusCode.OK, await shortAnswer.Content.ReadAsStringAsync());
        (await shortName.GetJsonAsync("/v1/me"))["tier"]!.GetValue<string>().ShouldBe("class_i");
        var (far, farAnswer) = await VerifyAsync("欧阳平平", SecureUser.NewIdNumber());
        farAnswer.StatusCode.ShouldBe(HttpStatusCode.OK, await farAnswer.Content.ReadAsStringAsync());
        (await Aml.CasesAsync(Op(), close.UserId, "watchlist")).Count.ShouldBe(1);
        (await Aml.CasesAsync(Op(), far.UserId, "watchlist")).ShouldBeEmpty();
    }

    [Fact]
    public async Task AMerchantWhoseLegalPersonIsListedIsNotVerifiedUntilCleared()
    {
        await AddAsync("王建国");
        var created = await Op().PostAsJsonAsync("/admin/v1/merchants", new
        {
            name = "Screened Shop", credit_code = CreditCodes.New(), legal_person = "王建國", contact_phone = "13800138000", fee_bps = 60,
        });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var body = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        body["screening"]!.GetValue<string>().ShouldBe("under_review");
        var merchantId = body["id"]!.GetValue<Guid>();
        await (await Op().PostAsync($"/admin/v1/merchants/{merchantId}/verify", null)).ShouldBeProblemAsync(409, "under_review");
        var found = await ResolveAsync(merchantId, "cleared");
        found["subject_type"]!.GetValue<string>().ShouldBe("merchant");
        (await Op().PostAsync($"/admin/v1/merchants/{merchantId}/verify", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}

public sealed class SqliteWatchlistTests(SecureSqliteHost host) : WatchlistTests<SecureSqliteHost>(host);

public sealed class PostgresWatchlistTests(SecurePostgresHost host) : WatchlistTests<SecurePostgresHost>(host);

/// <summary>Name normalisation and the edit-distance rule (pure).</summary>
public sealed class WatchlistNameTests
{
    [Theory]
    [InlineData("ＺＨＡＮＧ　Ｗｅｉ", "zhang wei")]       // full-width letters and space
    [InlineData("Zhang  WEI", "zhangwei")]              // case and spaces
    [InlineData("張偉", "张伟")]                          // traditional to simplified
    [InlineData("Jean-Luc O'Neil", "jeanluc oneil")]    // separators
    [InlineData("欧阳建华", "欧阳建平")]                   // one substitution, 4 characters
    [InlineData("欧阳建华", "欧阳华")]                     // one deletion
    [InlineData("李小龍", "李小龙")]
    public void Matches(string a, string b) => WatchlistNames.Match(WatchlistNames.Normalize(a), WatchlistNames.Normalize(b)).ShouldBeTrue();

    [Theory]
    [InlineData("张伟", "张玮")]                          // two characters: exact only
    [InlineData("欧阳建华", "欧阳平平")]                   // two edits
    [InlineData("zhang wei", "wang wei")]
    [InlineData("李磊", "李磊磊")]                         // the shorter has 2 characters
    public void DoesNotMatch(string a, string b) => WatchlistNames.Match(WatchlistNames.Normalize(a), WatchlistNames.Normalize(b)).ShouldBeFalse();
}
