using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// With <c>Qianbao:Gateway:AllowPrivateNotifyUrls=false</c> (production mode's default) a notify URL that leads to a
/// private, loopback or link-local address is refused where it is named: when an operator creates an app
/// (<c>invalid_notify_url</c>) and on a gateway request (<c>isv.invalid-parameter</c>, through the official SDK),
/// and nothing is created. On each engine.
/// </summary>
public abstract class PublicNotifyUrlTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : PublicNotifyGatewayServer
{
    protected TServer Server { get; } = server;

    [Theory]
    [InlineData("http://127.0.0.1:9/notify")]
    [InlineData("http://localhost/notify")]
    [InlineData("http://[::1]/notify")]
    [InlineData("http://[::ffff:10.0.0.1]/notify")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("https://192.168.1.20/notify")]
    [InlineData("http://[fd00::1]/notify")]
    public async Task App_with_a_private_notify_url_is_refused(string notifyUrl)
    {
        var merchant = await Server.CreateMerchantAsync(feeBps: 60);
        using var refused = await Server.OperatorSendAsync(HttpMethod.Post, $"/admin/v1/merchants/{merchant}/apps", new
        {
            app_public_key_pem = AlipayKeys.ExportPublicKeyBase64(SdkKeys.App), notify_url = notifyUrl,
        });
        await refused.ShouldBeProblemAsync(400, "invalid_notify_url");
        (await Server.CountAsync("SELECT count(*) FROM merchant_apps WHERE notify_url = @notifyUrl", new { notifyUrl })).ShouldBe(0);
    }

    [Fact]
    public async Task App_with_a_public_notify_url_is_created()
    {
        var merchant = await Server.CreateMerchantAsync(feeBps: 60);
        using var created = await Server.OperatorSendAsync(HttpMethod.Post, $"/admin/v1/merchants/{merchant}/apps", new
        {
            app_public_key_pem = AlipayKeys.ExportPublicKeyBase64(SdkKeys.App), notify_url = "https://93.184.215.14/alipay/notify",
        });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        (await created.Content.ReadFromJsonAsync<JsonObject>())!["app_id"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task Gateway_request_naming_a_private_notify_url_is_refused_and_creates_nothing()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 60);
        var sdk = await Server.SdkAsync();
        await sdk.RegisterAsync(app.AppId, app.AppId, SdkKeys.PrivatePkcs1(SdkKeys.App), app.PlatformPublicKey);
        var outTradeNo = "PRIV-" + Guid.NewGuid().ToString("N");
        var biz = new { out_trade_no = outTradeNo, total_amount = "1.00", subject = "私网回调" };

        // The SDK's own receiver listens on 127.0.0.1.
        var refused = await sdk.ExecAsync(app.AppId, "alipay.trade.precreate", biz, sdk.NotifyUrl);
        refused["code"]!.GetValue<string>().ShouldBe("40002", refused.ToJsonString());
        refused["subCode"]!.GetValue<string>().ShouldBe("isv.invalid-parameter", refused.ToJsonString());
        var query = await sdk.ExecAsync(app.AppId, "alipay.trade.query", new { out_trade_no = outTradeNo });
        query["subCode"]!.GetValue<string>().ShouldBe("ACQ.TRADE_NOT_EXIST", query.ToJsonString());

        // The same request with a public notify URL goes through (delivery to it is not this test's business).
        var accepted = await sdk.ExecAsync(app.AppId, "alipay.trade.precreate", biz, "https://93.184.215.14/alipay/notify");
        accepted["code"]!.GetValue<string>().ShouldBe("10000", accepted.ToJsonString());
    }
}

public sealed class SqlitePublicNotifyUrlTests(SqlitePublicNotifyGatewayServer server) : PublicNotifyUrlTests<SqlitePublicNotifyGatewayServer>(server);

public sealed class PostgresPublicNotifyUrlTests(PostgresPublicNotifyGatewayServer server) : PublicNotifyUrlTests<PostgresPublicNotifyGatewayServer>(server);
