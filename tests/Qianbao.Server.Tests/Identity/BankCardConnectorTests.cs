using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Channels;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Identity;

/// <summary>A secure server whose funding channel is the test's own bank connector (kind http).</summary>
public abstract class SecureChannelHost(DatabaseEngine engine) : LimitsHost(engine)
{
    public FakeBankConnector Bank => bank ??= new FakeBankConnector(Clock);
    private FakeBankConnector? bank;

    protected override IEnumerable<KeyValuePair<string, string?>> SecureSettings() =>
    [
        .. base.SecureSettings(),
        new("Qianbao:Channels:Default", "bank"),
        new("Qianbao:Channels:bank:Kind", "http"),
        new("Qianbao:Channels:bank:BaseUrl", Bank.BaseUrl.AbsoluteUri),
        new("Qianbao:Channels:bank:Secret", FakeBankConnector.Secret),
        new("Qianbao:Channels:bank:TimeoutMs", "2000"),
    ];

    protected override void Started() => Bank.CallbackClient = Factory.CreateClient();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Bank.DisposeAsync();
    }
}

public sealed class SecureSqliteChannelHost() : SecureChannelHost(DatabaseEngine.Sqlite);

public sealed class SecurePostgresChannelHost() : SecureChannelHost(DatabaseEngine.Postgres);

/// <summary>Adding a bank card asks the bank through the connector protocol (signed <c>POST /card-verifications</c>).</summary>
public abstract class BankCardConnectorTests<THost>(THost host) : IClassFixture<THost> where THost : SecureChannelHost
{
    private readonly HttpClient http = host.CreateClient();

    [Fact]
    public async Task The_bank_s_answer_decides_and_no_answer_changes_nothing()
    {
        var idNumber = SecureUser.NewIdNumber();
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, "张伟", setPin: false, verifyIdentity: false);
        await user.VerifyIdentityAsync("张伟", idNumber);
        var card = ResidentIdNumberTests.WithLuhn("622848000000" + Random.Shared.Next(100_000, 999_999));
        var seen = new List<(string Card, string Holder, string Id)>();
        host.Bank.CardMatches = (c, h, i) => { lock (seen) seen.Add((c, h, i)); return false; };

        await (await user.PostAsync("/v1/me/bank-cards", new { card_number = card, holder_name = "张伟", id_number = idNumber }))
            .ShouldBeProblemAsync(422, "card_holder_mismatch");
        seen.ShouldHaveSingleItem().ShouldBe((card, "张伟", idNumber));

        host.Bank.Down = true;
        try
        {
            await (await user.PostAsync("/v1/me/bank-cards", new { card_number = card, holder_name = "张伟", id_number = idNumber }))
                .ShouldBeProblemAsync(503, "channel_unavailable");
        }
        finally
        {
            host.Bank.Down = false;
        }
        (await user.GetJsonAsync("/v1/me/bank-cards"))["items"]!.AsArray().ShouldBeEmpty();
        (await user.GetJsonAsync("/v1/me/limits"))["tier"]!.GetValue<string>().ShouldBe("class_i");

        host.Bank.CardMatches = (_, _, _) => true;
        using var added = await user.PostAsync("/v1/me/bank-cards", new { card_number = card, holder_name = "张伟", id_number = idNumber });
        added.StatusCode.ShouldBe(HttpStatusCode.Created, await added.Content.ReadAsStringAsync());
        (await added.Content.ReadFromJsonAsync<JsonObject>())!["tier"]!.GetValue<string>().ShouldBe("class_ii");
        host.Bank.BadlySignedRequests.ShouldBe(0);
    }
}

public sealed class SqliteBankCardConnectorTests(SecureSqliteChannelHost host) : BankCardConnectorTests<SecureSqliteChannelHost>(host);

public sealed class PostgresBankCardConnectorTests(SecurePostgresChannelHost host) : BankCardConnectorTests<SecurePostgresChannelHost>(host);
