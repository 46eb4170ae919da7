using Microsoft.AspNetCore.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>A gateway whose per-app limit is small (5 a second) and per-address limit out of the way.</summary>
public abstract class PerAppLimitedGatewayServer(DatabaseEngine engine) : GatewayServer(engine)
{
    public const int PerApp = 5;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Qianbao:Gateway:RequestsPerSecondMax", PerApp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Qianbao:Gateway:RequestsPerSecondPerAddressMax", "100000");
    }
}

public sealed class SqlitePerAppLimitedGatewayServer() : PerAppLimitedGatewayServer(DatabaseEngine.Sqlite);

public sealed class PostgresPerAppLimitedGatewayServer() : PerAppLimitedGatewayServer(DatabaseEngine.Postgres);

/// <summary>A gateway whose per-address limit is small (10 a second) and per-app limit out of the way.</summary>
public abstract class PerAddressLimitedGatewayServer(DatabaseEngine engine) : GatewayServer(engine)
{
    public const int PerAddress = 10;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Qianbao:Gateway:RequestsPerSecondMax", "100000");
        builder.UseSetting("Qianbao:Gateway:RequestsPerSecondPerAddressMax", PerAddress.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}

public sealed class SqlitePerAddressLimitedGatewayServer() : PerAddressLimitedGatewayServer(DatabaseEngine.Sqlite);

public sealed class PostgresPerAddressLimitedGatewayServer() : PerAddressLimitedGatewayServer(DatabaseEngine.Postgres);

/// <summary>
/// Item 3's gateway part: requests are limited per app and per client address before anything is verified, the limited
/// answer is Alipay's flow-control one (HTTP 200, 40005 <c>isv.app-call-limited</c>, unsigned), and a request that names
/// no app we know is answered unsigned, as Alipay answers it.
/// </summary>
public abstract class GatewayPerAppLimitTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : PerAppLimitedGatewayServer
{
    private const string Query = "alipay.trade.query";

    private static object NoSuchTrade() => new { out_trade_no = "NONE-" + Guid.NewGuid().ToString("N") };

    private static bool Limited(GatewayAnswer a) => a.SubCode == "isv.app-call-limited";

    [Fact]
    public async Task A_burst_over_one_apps_limit_is_limited_while_another_app_is_not()
    {
        var busy = server.Caller(await server.CreateMerchantWithAppAsync(60));
        var quiet = server.Caller(await server.CreateMerchantWithAppAsync(60));

        var burst = await Task.WhenAll(Enumerable.Range(0, 4 * PerAppLimitedGatewayServer.PerApp).Select(_ => busy.CallAsync(Query, NoSuchTrade())));

        var limited = burst.Where(Limited).ToList();
        limited.Count.ShouldBeGreaterThanOrEqualTo(2 * PerAppLimitedGatewayServer.PerApp, string.Join("\n", burst.Select(a => a.Raw)));
        burst.Count(a => !Limited(a)).ShouldBeGreaterThanOrEqualTo(PerAppLimitedGatewayServer.PerApp);
        foreach (var answer in limited)
        {
            answer.ShouldBe("40005", "isv.app-call-limited");
            answer["msg"].ShouldBe("Call Limited");
            answer.ResponseKey.ShouldBe("alipay_trade_query_response");
            answer.Signed.ShouldBeFalse("a limited request costs no RSA signature");
        }
        // Those let through were verified and answered by the method, signed.
        burst.Where(a => !Limited(a)).ShouldAllBe(a => a.SubCode == "ACQ.TRADE_NOT_EXIST" && a.Signed);

        // The other app has its own budget.
        for (var i = 0; i < PerAppLimitedGatewayServer.PerApp; i++)
            (await quiet.CallAsync(Query, NoSuchTrade())).ShouldBe("40004", "ACQ.TRADE_NOT_EXIST");

        // And the busy one's refills.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        (await busy.CallAsync(Query, NoSuchTrade())).ShouldBe("40004", "ACQ.TRADE_NOT_EXIST");
    }

    [Fact]
    public async Task Requests_naming_no_app_we_know_are_answered_unsigned_and_malformed_ones_under_a_fixed_signature()
    {
        var app = await server.CreateMerchantWithAppAsync(60);
        var c = server.Caller(app);

        var unknown = c.Sign(c.Parameters(Query, NoSuchTrade()));
        unknown["app_id"] = "2026999999999999";
        var answer = await c.SendAsync(Query, c.Sign(unknown));
        answer.ShouldBe("40002", "isv.invalid-app-id");
        answer.ResponseKey.ShouldBe("alipay_trade_query_response");
        answer.Signed.ShouldBeFalse(answer.Raw);
        answer.Raw.ShouldBe("""{"alipay_trade_query_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}}""");

        var missing = c.Sign(c.Parameters(Query, NoSuchTrade()));
        missing.Remove("app_id");
        (await c.SendAsync(Query, missing)).Signed.ShouldBeFalse();

        // Refused while its parameters were read (no signature checked yet): still verifiable by the SDK, from a signature
        // made once for this fixed text.
        var noSign = c.Parameters(Query, NoSuchTrade());
        var first = await c.SendAsync(Query, noSign);
        first.ShouldBe("40001", "isv.missing-signature");
        first.Signed.ShouldBeTrue();
        (await c.SendAsync(Query, c.Parameters(Query, NoSuchTrade()))).Raw.ShouldBe(first.Raw);

        // A request for a known app with a wrong signature is answered signed, as before.
        var forged = c.Sign(c.Parameters(Query, NoSuchTrade()));
        forged["sign"] = Convert.ToBase64String(new byte[256]);
        var refused = await c.SendAsync(Query, forged);
        refused.ShouldBe("40002", "isv.invalid-signature");
        refused.Signed.ShouldBeTrue();
    }
}

public sealed class SqliteGatewayPerAppLimitTests(SqlitePerAppLimitedGatewayServer server)
    : GatewayPerAppLimitTests<SqlitePerAppLimitedGatewayServer>(server);

public sealed class PostgresGatewayPerAppLimitTests(PostgresPerAppLimitedGatewayServer server)
    : GatewayPerAppLimitTests<PostgresPerAppLimitedGatewayServer>(server);

/// <summary>The per-address limit applies first: before the app is looked up and before any signature is verified.</summary>
public abstract class GatewayPerAddressLimitTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : PerAddressLimitedGatewayServer
{
    private const string Query = "alipay.trade.query";

    [Fact]
    public async Task Garbage_signatures_from_one_address_are_limited_before_they_are_verified()
    {
        var app = await server.CreateMerchantWithAppAsync(60);
        var c = server.Caller(app);
        Dictionary<string, string> Forged()
        {
            var p = c.Sign(c.Parameters(Query, new { out_trade_no = "F-" + Guid.NewGuid().ToString("N") }));
            p["sign"] = Convert.ToBase64String(new byte[256]);
            return p;
        }
        Dictionary<string, string> Unknown()
        {
            var p = c.Parameters(Query, new { out_trade_no = "U-" + Guid.NewGuid().ToString("N") });
            p["app_id"] = "2026" + Random.Shared.NextInt64(100_000_000_000, 999_999_999_999);
            return c.Sign(p);
        }

        var burst = await Task.WhenAll(Enumerable.Range(0, 4 * PerAddressLimitedGatewayServer.PerAddress)
            .Select(i => c.SendAsync(Query, i % 2 == 0 ? Forged() : Unknown())));

        var limited = burst.Where(a => a.SubCode == "isv.app-call-limited").ToList();
        limited.Count.ShouldBeGreaterThanOrEqualTo(2 * PerAddressLimitedGatewayServer.PerAddress, string.Join("\n", burst.Select(a => a.Raw)));
        limited.ShouldAllBe(a => a.Code == "40005" && !a.Signed);
        // The rest got as far as their own refusal; none was limited after a signature check.
        burst.Where(a => a.SubCode != "isv.app-call-limited").ShouldAllBe(a => a.SubCode == "isv.invalid-signature" || a.SubCode == "isv.invalid-app-id");

        // Once the address's budget refills, a good request goes through.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        (await c.CallAsync(Query, new { out_trade_no = "OK-" + Guid.NewGuid().ToString("N") })).ShouldBe("40004", "ACQ.TRADE_NOT_EXIST");
    }
}

public sealed class SqliteGatewayPerAddressLimitTests(SqlitePerAddressLimitedGatewayServer server)
    : GatewayPerAddressLimitTests<SqlitePerAddressLimitedGatewayServer>(server);

public sealed class PostgresGatewayPerAddressLimitTests(PostgresPerAddressLimitedGatewayServer server)
    : GatewayPerAddressLimitTests<PostgresPerAddressLimitedGatewayServer>(server);
