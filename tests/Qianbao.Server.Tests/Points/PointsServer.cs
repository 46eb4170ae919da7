using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Points;

/// <summary>The relaxed gateway server with a movable clock and a fast points expiry sweep, plus the steps of a points test.</summary>
public abstract class PointsServer(DatabaseEngine engine) : ClockedGatewayServer(engine)
{
    public static readonly TimeSpan China = TimeSpan.FromHours(8);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Qianbao:Marketing:PointsExpirySweepIntervalMs", "100");
    }

    /// <summary>Moves the server's clock so that it reads <paramref name="now"/> (forwards or backwards).</summary>
    public void SetNow(DateTimeOffset now) => Clock.Advance(now - Clock.GetUtcNow());

    /// <summary>The same person signed in again (after the clock moved past the old token's lifetime).</summary>
    public async Task<WalletClient> SignInAgainAsync(WalletClient person) =>
        new(Http, person.UserId, person.Phone, await WalletClient.TokenAsync(Http, person.Phone, "correct horse"));

    /// <summary>Precreates a trade of <paramref name="yuan"/> and has <paramref name="buyer"/> pay it by QR: (trade_no, out_trade_no).</summary>
    public async Task<(string TradeNo, string OutTradeNo)> PayAsync(MerchantApp app, WalletClient buyer, string yuan)
    {
        var outTradeNo = "PTS-" + Guid.NewGuid().ToString("N");
        var qr = (await CallAsync(app, "alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = yuan, subject = "积分" }))
            .ShouldBe("10000")["qr_code"]!;
        using var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr });
        var body = await paid.Content.ReadAsStringAsync();
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return (JsonNode.Parse(body)!["trade_no"]!.GetValue<string>(), outTradeNo);
    }

    public async Task RefundAsync(MerchantApp app, string outTradeNo, string yuan) =>
        (await CallAsync(app, "alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = yuan, out_request_no = "R-" + Guid.NewGuid().ToString("N") }))
            .ShouldBe("10000");

    /// <summary>A signed gateway call stamped with the server's (moved) clock, as a merchant whose clock agrees with it.</summary>
    public Task<GatewayAnswer> CallAsync(MerchantApp app, string method, object biz)
    {
        var caller = Caller(app);
        var p = caller.Parameters(method, biz);
        p["timestamp"] = Qianbao.Server.Adapters.Alipay.AlipayTime.ToChinaString(Clock.GetUtcNow());
        return caller.SendAsync(method, caller.Sign(p));
    }

    public static async Task<JsonObject> PointsAsync(WalletClient buyer) => await buyer.GetJsonAsync("/v1/points");

    public static async Task<long> BalanceAsync(WalletClient buyer) => (await PointsAsync(buyer))["balance"]!.GetValue<long>();

    /// <summary>Waits (bounded) until the buyer's points balance is <paramref name="expected"/> (the subscriber and sweeper run after the request).</summary>
    public static Task BalanceEventuallyAsync(WalletClient buyer, long expected) =>
        Poll.UntilAsync(async () => await BalanceAsync(buyer) == expected, $"points balance {expected}");

    /// <summary>Waits until the buyer has <paramref name="count"/> history items (a change that moves no point changes no balance).</summary>
    public static Task ItemsEventuallyAsync(WalletClient buyer, int count) =>
        Poll.UntilAsync(async () => (await PointsAsync(buyer))["items"]!.AsArray().Count == count, $"{count} points items");
}

public sealed class SqlitePointsServer() : PointsServer(DatabaseEngine.Sqlite);

public sealed class PostgresPointsServer() : PointsServer(DatabaseEngine.Postgres);
