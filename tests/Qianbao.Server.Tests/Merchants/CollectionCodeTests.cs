using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Merchants;

/// <summary>Collection codes (收款码): a verified shop's static code, paid by a buyer who types the amount, end to end.</summary>
public abstract class CollectionCodeTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private GatewayServer Server { get; } = server;
    private HttpClient Http => Server.Http;

    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static Task<HttpResponseMessage> PayAsync(WalletClient buyer, string code, object body, string key) =>
        buyer.PostAsync($"/v1/collection-codes/{code}/pay", body, key);

    [Fact]
    public async Task A_shop_shows_its_code_a_buyer_pays_it_once_per_key_and_the_shop_refunds()
    {
        var admin = await MerchantAccounts.SignupAsync(Http, GatewayServer.OperatorKey, relaxed: true);
        var token = await MerchantAccounts.LoginAsync(Http, admin);
        await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/collection-code", token)).ShouldBeProblemAsync(409, "not_verified");
        await MerchantAccounts.ApproveAsync(Http, GatewayServer.OperatorKey, admin.MerchantId);

        var shown = await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/collection-code", token);
        shown.StatusCode.ShouldBe(HttpStatusCode.OK, await shown.Content.ReadAsStringAsync());
        var body = (await shown.Content.ReadFromJsonAsync<JsonObject>())!;
        var code = body["code"]!.GetValue<string>();
        code.Length.ShouldBe(24);
        body["qr_text"]!.GetValue<string>().ShouldBe("https://qr.qianbao.dev/c/" + code);
        Convert.FromBase64String(body["qr_png_base64"]!.GetValue<string>()).Take(8).ShouldBe(PngSignature);
        var image = await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/collection-code?format=png", token);
        image.Content.Headers.ContentType!.MediaType.ShouldBe("image/png");
        (await image.Content.ReadAsByteArrayAsync()).Take(8).ShouldBe(PngSignature);
        // Static: asking again shows the same code.
        (await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/collection-code", token)).Content.ReadFromJsonAsync<JsonObject>())!["code"]!
            .GetValue<string>().ShouldBe(code);

        var buyer = await Server.BuyerAsync(10_000);
        await (await PayAsync(buyer, code, new { amount = 0 }, "k0")).ShouldBeProblemAsync(400, "invalid_amount");
        await (await PayAsync(buyer, "0123456789abcdef01234567", new { amount = 100 }, "k1")).ShouldBeProblemAsync(404, "not_found");
        await (await buyer.PostRawAsync($"/v1/collection-codes/{code}/pay", "{\"amount\":100}", idempotencyKey: null)).ShouldBeProblemAsync(400, "idempotency_key_missing");
        (await buyer.AvailableAsync()).ShouldBe(10_000, "nothing moved on a refusal");

        var key = "cc-" + Guid.NewGuid();
        var paid = await PayAsync(buyer, code, new { amount = 1_234 }, key);
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        var receipt = (await paid.Content.ReadFromJsonAsync<JsonObject>())!;
        receipt["status"]!.GetValue<string>().ShouldBe("TRADE_SUCCESS");
        receipt["merchant_id"]!.GetValue<Guid>().ShouldBe(admin.MerchantId);
        var tradeNo = receipt["trade_no"]!.GetValue<string>();
        (await buyer.AvailableAsync()).ShouldBe(10_000 - 1_234);

        var replay = await PayAsync(buyer, code, new { amount = 1_234 }, key);
        replay.StatusCode.ShouldBe(HttpStatusCode.OK, await replay.Content.ReadAsStringAsync());
        (await replay.Content.ReadFromJsonAsync<JsonObject>())!["trade_no"]!.GetValue<string>().ShouldBe(tradeNo);
        await (await PayAsync(buyer, code, new { amount = 999 }, key)).ShouldBeProblemAsync(422, "idempotency_key_reused");
        (await buyer.AvailableAsync()).ShouldBe(10_000 - 1_234, "one key, one payment");

        // The shop sees the trade among its own and refunds part of it by the merchant API.
        var trades = (await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/trades", token)).Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        var trade = trades.Single()!;
        trade["trade_no"]!.GetValue<string>().ShouldBe(tradeNo);
        trade["kind"]!.GetValue<string>().ShouldBe("collection");
        trade["total_amount"]!.GetValue<long>().ShouldBe(1_234);
        var refund = await MerchantAccounts.SendAsync(Http, HttpMethod.Post, $"/merchant/v1/trades/{tradeNo}/refunds", token, new { amount = 234, reason = "找零" }, "r-" + key);
        refund.StatusCode.ShouldBe(HttpStatusCode.Created, await refund.Content.ReadAsStringAsync());
        (await buyer.AvailableAsync()).ShouldBe(10_000 - 1_000);
        var (available, _) = await Server.SettlementAsync(admin.MerchantId);
        available.ShouldBe(1_000 - 6, "the shop keeps ¥10 less its 60 bps fee on what stayed sold");
        var today = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var statement = (await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/settlements?date=" + today, token)).Content.ReadFromJsonAsync<JsonObject>())!;
        statement["net"]!.GetValue<long>().ShouldBe(1_000 - 6);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_frozen_or_unverified_shops_code_takes_nothing()
    {
        var admin = await MerchantAccounts.SignupAsync(Http, GatewayServer.OperatorKey, relaxed: true);
        await MerchantAccounts.ApproveAsync(Http, GatewayServer.OperatorKey, admin.MerchantId);
        var token = await MerchantAccounts.LoginAsync(Http, admin);
        var code = (await (await MerchantAccounts.SendAsync(Http, HttpMethod.Get, "/merchant/v1/collection-code", token)).Content.ReadFromJsonAsync<JsonObject>())!["code"]!
            .GetValue<string>();
        var frozen = await Server.OperatorSendAsync(HttpMethod.Post, $"/admin/v1/merchants/{admin.MerchantId}/freeze", new { reason = "test" });
        frozen.IsSuccessStatusCode.ShouldBeTrue(await frozen.Content.ReadAsStringAsync());
        var buyer = await Server.BuyerAsync(5_000);
        await (await PayAsync(buyer, code, new { amount = 100 }, "frozen-" + Guid.NewGuid())).ShouldBeProblemAsync(422, "merchant_frozen");
        (await buyer.AvailableAsync()).ShouldBe(5_000);
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteCollectionCodeTests(SqliteGatewayServer server) : CollectionCodeTests<SqliteGatewayServer>(server);

public sealed class PostgresCollectionCodeTests(PostgresGatewayServer server) : CollectionCodeTests<PostgresGatewayServer>(server);

/// <summary>With account security on, a collection-code payment passes the spending gate as a QR payment does.</summary>
public abstract class SecureCollectionCodeTests<THost>(THost host) : IClassFixture<THost> where THost : SecureHost
{
    [Fact]
    public async Task The_pin_is_asked_and_checked()
    {
        var http = host.CreateClient();
        var admin = await MerchantAccounts.SignupAsync(http, host.OperatorKey, relaxed: false);
        await MerchantAccounts.ApproveAsync(http, host.OperatorKey, admin.MerchantId);
        var token = await MerchantAccounts.LoginAsync(http, admin, host.Clock.GetUtcNow());
        var code = (await (await MerchantAccounts.SendAsync(http, HttpMethod.Get, "/merchant/v1/collection-code", token)).Content.ReadFromJsonAsync<JsonObject>())!["code"]!
            .GetValue<string>();
        var buyer = await SecureUser.CreateAsync(host.CreateClient(), host.OperatorKey);
        await buyer.TopUpAsync(5_000);
        await (await buyer.PostAsync($"/v1/collection-codes/{code}/pay", new { amount = 500 }, pin: "")).ShouldBeProblemAsync(403, "pin_required");
        await (await buyer.PostAsync($"/v1/collection-codes/{code}/pay", new { amount = 500 }, pin: "999999")).ShouldBeProblemAsync(403, "invalid_pin");
        var paid = await buyer.PostAsync($"/v1/collection-codes/{code}/pay", new { amount = 500 });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
        (await buyer.GetJsonAsync("/v1/wallet")).ToJsonString().ShouldContain("4500");
    }
}

public sealed class SqliteSecureCollectionCodeTests(SecureSqliteHost host) : SecureCollectionCodeTests<SecureSqliteHost>(host);

public sealed class PostgresSecureCollectionCodeTests(SecurePostgresHost host) : SecureCollectionCodeTests<SecurePostgresHost>(host);
