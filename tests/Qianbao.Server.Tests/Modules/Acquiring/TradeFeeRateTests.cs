using System.Net;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Modules.Acquiring;

/// <summary>
/// The merchant's fee rate is stamped on a trade when it is opened (migration 0046) and its payment charges that rate: the rate
/// agreed with the order, read with the trade instead of from the merchant at payment. A trade opened before the stamp (no rate
/// on the row) is charged the merchant's rate as before.
/// </summary>
public abstract class TradeFeeRateTests<TServer>(TServer server) : IClassFixture<TServer> where TServer : GatewayServer
{
    private GatewayServer Server { get; } = server;

    [Fact]
    public async Task A_trade_is_charged_the_fee_rate_of_when_it_was_opened()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 100);
        var qr = await PrecreateAsync(app, "50.00");
        (await Server.CountAsync("SELECT count(*) FROM trades WHERE qr_code = @qr AND fee_bps = 100", new { qr })).ShouldBe(1);
        // The merchant's rate changes after the order: the order keeps the rate it was opened at.
        await Server.ExecuteAsync("UPDATE merchants SET fee_bps = 300 WHERE id = @id", new { id = app.MerchantId });

        await PayAsync(qr);

        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((4_950L, 0L), "50.00 less 1 %, not 3 %");
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_trade_opened_before_the_rate_was_stamped_is_charged_the_merchants_rate()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 100);
        var qr = await PrecreateAsync(app, "50.00");
        await Server.ExecuteAsync("UPDATE trades SET fee_bps = NULL WHERE qr_code = @qr", new { qr });
        await Server.ExecuteAsync("UPDATE merchants SET fee_bps = 300 WHERE id = @id", new { id = app.MerchantId });

        await PayAsync(qr);

        (await Server.SettlementAsync(app.MerchantId)).ShouldBe((4_850L, 0L), "50.00 less the merchant's 3 % read at payment");
        await Server.AssertLedgerOkAsync();
    }

    private async Task<string> PrecreateAsync(MerchantApp app, string yuan) =>
        (await Server.Caller(app).CallAsync("alipay.trade.precreate",
            new { out_trade_no = "FEE-" + Guid.NewGuid().ToString("N"), total_amount = yuan, subject = "费率" })).ShouldBe("10000")["qr_code"]!;

    private async Task PayAsync(string qr)
    {
        var buyer = await Server.BuyerAsync(10_000);
        using var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr });
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, await paid.Content.ReadAsStringAsync());
    }
}

public sealed class SqliteTradeFeeRateTests(SqliteGatewayServer server) : TradeFeeRateTests<SqliteGatewayServer>(server);

public sealed class PostgresTradeFeeRateTests(PostgresGatewayServer server) : TradeFeeRateTests<PostgresGatewayServer>(server);
