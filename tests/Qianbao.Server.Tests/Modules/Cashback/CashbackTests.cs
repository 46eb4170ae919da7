using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Cashback;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Modules.Marketing;

namespace Qianbao.Server.Tests.Modules.Cashback;

/// <summary>
/// The clocked gateway server whose cashback settle sweeper waits a day between passes (tests run a pass explicitly), and whose
/// cashback subscriber waits while <see cref="Hold"/> is set, so a test can refund a trade before its cashback is earned.
/// </summary>
public abstract class CashbackServer(DatabaseEngine engine) : ClockedGatewayServer(engine)
{
    /// <summary>While set and not completed, the cashback subscriber handles nothing.</summary>
    public TaskCompletionSource? Hold { get; set; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Qianbao:Marketing:CashbackSettleSweepIntervalMs", "86400000");
        builder.ConfigureTestServices(services =>
        {
            var real = services.Single(d => d.ServiceType == typeof(IEventSubscriber) && d.ImplementationType == typeof(CashbackSubscriber));
            services.Remove(real);
            services.AddSingleton<CashbackSubscriber>();
            services.AddSingleton<IEventSubscriber>(sp => new HeldSubscriber(sp.GetRequiredService<CashbackSubscriber>(), this));
        });
    }

    private sealed class HeldSubscriber(IEventSubscriber inner, CashbackServer server) : IEventSubscriber
    {
        public string Name => inner.Name;

        public IReadOnlySet<string>? Handles => inner.Handles;

        public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken ct)
        {
            if (server.Hold is { } hold) await hold.Task.WaitAsync(ct);
            await inner.HandleAsync(events, ct);
        }
    }
}

public sealed class SqliteCashbackServer() : CashbackServer(DatabaseEngine.Sqlite);

public sealed class PostgresCashbackServer() : CashbackServer(DatabaseEngine.Postgres);

/// <summary>
/// Cashback: exact percent, cap, min_spend and rounding; pending until it settles by the sweeper on an injected clock, or at
/// once; refunds voiding a pending credit in proportion and clawing a posted one back from the refund, ending exact; an
/// exhausted budget paying none; the best campaign only; redelivered events changing nothing. The ledger check after each.
/// </summary>
public abstract class CashbackTests<TServer>(TServer server) : CampaignTestBase(server), IClassFixture<TServer> where TServer : CashbackServer
{
    private const long Start = 100_000;

    /// <summary>The server as its own type (the base class knows it as a clocked gateway server).</summary>
    private TServer Host { get; } = server;

    private Dictionary<string, object?> CashbackCampaign(Guid merchant, object cashback, long budget = 10_000) => new()
    {
        ["name"] = "返现",
        ["kind"] = "cashback",
        ["funding"] = new { source = "platform" },
        ["budget"] = new { amount = budget, currency = "CNY" },
        ["starts_at"] = Time(TimeSpan.FromMinutes(-5)),
        ["ends_at"] = Time(TimeSpan.FromDays(60)),
        ["merchant_ids"] = new[] { merchant },
        ["cashback"] = cashback,
    };

    private async Task<(MerchantApp App, Guid Campaign, WalletClient Buyer)> SetUpAsync(object cashback, long budget = 10_000)
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 60);
        var campaign = (await CreateAsync(CashbackCampaign(app.MerchantId, cashback, budget)))["id"]!.GetValue<Guid>();
        return (app, campaign, await Server.BuyerAsync(Start));
    }

    /// <summary>Precreates a trade of <paramref name="yuan"/> and has <paramref name="buyer"/> pay it by QR: (trade_no, out_trade_no).</summary>
    private async Task<(string TradeNo, string OutTradeNo)> PayAsync(MerchantApp app, WalletClient buyer, string yuan)
    {
        var outTradeNo = "CB-" + Guid.NewGuid().ToString("N");
        var qr = (await CallAsync(app, "alipay.trade.precreate", new { out_trade_no = outTradeNo, total_amount = yuan, subject = "返现" })).ShouldBe("10000")["qr_code"]!;
        using var paid = await buyer.PostAsync("/v1/qr-payments", new { qr_code = qr });
        var body = await paid.Content.ReadAsStringAsync();
        paid.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return (JsonNode.Parse(body)!["trade_no"]!.GetValue<string>(), outTradeNo);
    }

    private async Task RefundAsync(MerchantApp app, string outTradeNo, string yuan) =>
        (await CallAsync(app, "alipay.trade.refund", new { out_trade_no = outTradeNo, refund_amount = yuan, out_request_no = "R-" + Guid.NewGuid().ToString("N") }))
            .ShouldBe("10000");

    /// <summary>A signed gateway call stamped with the server's (moved) clock.</summary>
    private Task<GatewayAnswer> CallAsync(MerchantApp app, string method, object biz)
    {
        var caller = Server.Caller(app);
        var p = caller.Parameters(method, biz);
        p["timestamp"] = Qianbao.Server.Adapters.Alipay.AlipayTime.ToChinaString(Server.Clock.GetUtcNow());
        return caller.SendAsync(method, caller.Sign(p));
    }

    private static Task<JsonObject> CashbackAsync(WalletClient buyer) => buyer.GetJsonAsync("/v1/cashback");

    /// <summary>The buyer's cashback item of <paramref name="tradeNo"/>, once the subscriber has decided it.</summary>
    private static async Task<JsonNode> ItemEventuallyAsync(WalletClient buyer, string tradeNo)
    {
        JsonNode? item = null;
        await Poll.UntilAsync(async () =>
        {
            item = (await CashbackAsync(buyer))["items"]!.AsArray().SingleOrDefault(i => i!["trade_no"]!.GetValue<string>() == tradeNo);
            return item is not null;
        }, $"cashback of {tradeNo}");
        return item!;
    }

    private static async Task<JsonNode> ItemAsync(WalletClient buyer, string tradeNo) =>
        (await CashbackAsync(buyer))["items"]!.AsArray().Single(i => i!["trade_no"]!.GetValue<string>() == tradeNo)!;

    private static void ShouldBe(JsonNode item, string status, long amount, long earned, long voided = 0, long clawedBack = 0)
    {
        item["status"]!.GetValue<string>().ShouldBe(status);
        item["amount"]!.GetValue<long>().ShouldBe(amount);
        item["earned"]!.GetValue<long>().ShouldBe(earned);
        item["voided"]!.GetValue<long>().ShouldBe(voided);
        item["clawed_back"]!.GetValue<long>().ShouldBe(clawedBack);
    }

    private static async Task<(long Available, long PendingIn)> WalletAsync(WalletClient buyer)
    {
        var cny = (await buyer.GetJsonAsync("/v1/wallet"))["balances"]!.AsArray().Single(b => b!["currency"]!.GetValue<string>() == "CNY")!;
        return (cny["available"]!.GetValue<long>(), cny["pending_in"]!.GetValue<long>());
    }

    private Task<int> SweepAsync() => Server.Services.GetRequiredService<CashbackSettlement>().SweepOnceAsync(CancellationToken.None);

    private Task<long> PostedEventsAsync(string tradeNo) =>
        Server.CountAsync("SELECT count(*) FROM domain_events WHERE type = 'cashback.posted' AND stream = @stream",
            new { stream = "cashback:" + CashbackSubscriber.CreditId(tradeNo).ToString("N") });

    [Fact]
    public async Task Percent_cap_min_spend_and_rounding_give_exact_cashback_posted_at_once()
    {
        // 3.33% of what the buyer paid, at most ¥0.50, on totals of ¥10.00 or more.
        var (app, campaign, buyer) = await SetUpAsync(new { percent_bps = 333, cap = 50, min_spend = 1_000, settle_after_hours = 0 });
        var (below, _) = await PayAsync(app, buyer, "9.99");
        var (edge, _) = await PayAsync(app, buyer, "10.00");     // floor(1000 × 333 / 10000) = 33
        var (odd, _) = await PayAsync(app, buyer, "12.34");      // floor(1234 × 333 / 10000) = 41
        var (capped, _) = await PayAsync(app, buyer, "20.00");   // floor(66.6) = 66 → the cap, 50
        ShouldBe(await ItemEventuallyAsync(buyer, capped), "posted", 50, 50);
        // Events are handled in order: the later payment's credit shows the earlier ones were decided too.
        ShouldBe(await ItemAsync(buyer, edge), "posted", 33, 33);
        ShouldBe(await ItemAsync(buyer, odd), "posted", 41, 41);
        (await CashbackAsync(buyer))["items"]!.AsArray().Any(i => i!["trade_no"]!.GetValue<string>() == below).ShouldBeFalse();
        (await CashbackAsync(buyer))["posted"]!.GetValue<long>().ShouldBe(124);

        (await WalletAsync(buyer)).ShouldBe((Start - 999 - 1_000 - 1_234 - 2_000 + 124, 0L));
        ShouldBalance(await GetAsync(campaign), 10_000, 124);
        (await PostedEventsAsync(edge)).ShouldBe(1);
        var export = await buyer.GetJsonAsync("/v1/me/export");
        export["cashback"]!.AsArray().Select(c => c!["amount"]!.GetValue<long>()).ShouldBe([50L, 41L, 33L]);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Cashback_is_pending_until_it_settles_then_the_sweeper_posts_it()
    {
        var (app, campaign, buyer) = await SetUpAsync(new { percent_bps = 1_000, settle_after_hours = 24 });
        var (tradeNo, _) = await PayAsync(app, buyer, "10.00");
        ShouldBe(await ItemEventuallyAsync(buyer, tradeNo), "pending", 100, 100);
        (await CashbackAsync(buyer))["pending"]!.GetValue<long>().ShouldBe(100);
        (await WalletAsync(buyer)).ShouldBe((Start - 1_000, 100L));
        // Pending cashback counts as spent: the budget can no longer give it to anyone else.
        ShouldBalance(await GetAsync(campaign), 10_000, 100);
        await Server.AssertLedgerOkAsync();

        Server.Clock.Advance(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(5));
        await SweepAsync();
        buyer = await LoginAgainAsync(buyer);
        (await ItemAsync(buyer, tradeNo))["status"]!.GetValue<string>().ShouldBe("pending");
        (await PostedEventsAsync(tradeNo)).ShouldBe(0);

        Server.Clock.Advance(TimeSpan.FromSeconds(10));
        (await SweepAsync()).ShouldBeGreaterThanOrEqualTo(1);
        var item = await ItemAsync(buyer, tradeNo);
        ShouldBe(item, "posted", 100, 100);
        item["posted_at"].ShouldNotBeNull();
        (await WalletAsync(buyer)).ShouldBe((Start - 1_000 + 100, 0L));
        ShouldBalance(await GetAsync(campaign), 10_000, 100);
        (await PostedEventsAsync(tradeNo)).ShouldBe(1);
        // A second pass finds nothing of it to do.
        await SweepAsync();
        (await PostedEventsAsync(tradeNo)).ShouldBe(1);
        (await WalletAsync(buyer)).ShouldBe((Start - 1_000 + 100, 0L));
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Refunds_before_posting_void_in_proportion_and_a_full_refund_voids_all()
    {
        var (app, campaign, buyer) = await SetUpAsync(new { percent_bps = 1_000, settle_after_hours = 24 });
        var (tradeNo, outTradeNo) = await PayAsync(app, buyer, "10.00");
        await ItemEventuallyAsync(buyer, tradeNo);

        // floor(100 × 333 / 1000) = 33 voided; the buyer gets the whole refund (nothing was posted to take back from).
        await RefundAsync(app, outTradeNo, "3.33");
        ShouldBe(await ItemAsync(buyer, tradeNo), "pending", 67, 100, voided: 33);
        (await WalletAsync(buyer)).ShouldBe((Start - 1_000 + 333, 67L));
        ShouldBalance(await GetAsync(campaign), 10_000, 67);
        await Server.AssertLedgerOkAsync();

        await RefundAsync(app, outTradeNo, "6.67");
        ShouldBe(await ItemAsync(buyer, tradeNo), "voided", 0, 100, voided: 100);
        (await WalletAsync(buyer)).ShouldBe((Start, 0L));
        ShouldBalance(await GetAsync(campaign), 10_000, 0);

        // Nothing is left to settle.
        Server.Clock.Advance(TimeSpan.FromHours(25));
        await SweepAsync();
        buyer = await LoginAgainAsync(buyer);
        ShouldBe(await ItemAsync(buyer, tradeNo), "voided", 0, 100, voided: 100);
        (await WalletAsync(buyer)).ShouldBe((Start, 0L));
        (await PostedEventsAsync(tradeNo)).ShouldBe(0);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task What_a_partial_refund_leaves_posts_when_due_and_a_later_refund_claws_back_from_itself()
    {
        var (app, campaign, buyer) = await SetUpAsync(new { percent_bps = 1_000, settle_after_hours = 2 });
        var (tradeNo, outTradeNo) = await PayAsync(app, buyer, "10.00");
        await ItemEventuallyAsync(buyer, tradeNo);
        await RefundAsync(app, outTradeNo, "2.50"); // 25 voided, 75 pending
        Server.Clock.Advance(TimeSpan.FromHours(2) + TimeSpan.FromSeconds(1));
        await SweepAsync();
        buyer = await LoginAgainAsync(buyer);
        ShouldBe(await ItemAsync(buyer, tradeNo), "posted", 75, 100, voided: 25);
        (await WalletAsync(buyer)).ShouldBe((Start - 1_000 + 250 + 75, 0L));
        ShouldBalance(await GetAsync(campaign), 10_000, 75);
        await Server.AssertLedgerOkAsync();

        // The rest: 75 more taken back from the buyer's 750, so in all the buyer is exactly where they started.
        await RefundAsync(app, outTradeNo, "7.50");
        ShouldBe(await ItemAsync(buyer, tradeNo), "posted", 0, 100, voided: 25, clawedBack: 75);
        (await WalletAsync(buyer)).ShouldBe((Start, 0L));
        ShouldBalance(await GetAsync(campaign), 10_000, 0);
        (await Server.SettlementAsync(app.MerchantId)).Available.ShouldBe(0);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Refunds_after_posting_claw_back_in_proportion_from_the_refund_to_exact_totals()
    {
        var (app, campaign, buyer) = await SetUpAsync(new { percent_bps = 1_000, settle_after_hours = 0 });
        var (tradeNo, outTradeNo) = await PayAsync(app, buyer, "10.00");
        ShouldBe(await ItemEventuallyAsync(buyer, tradeNo), "posted", 100, 100);
        (await WalletAsync(buyer)).ShouldBe((Start - 1_000 + 100, 0L));

        // 3.33 refunded: 33 of the cashback comes back out of it, the buyer gets 300.
        await RefundAsync(app, outTradeNo, "3.33");
        ShouldBe(await ItemAsync(buyer, tradeNo), "posted", 67, 100, clawedBack: 33);
        (await WalletAsync(buyer)).ShouldBe((Start - 1_000 + 100 + 300, 0L));
        ShouldBalance(await GetAsync(campaign), 10_000, 67);
        await Server.AssertLedgerOkAsync();

        // The rest: 67 more, the buyer gets 600; paid 1000, got back 100 + 300 + 600.
        await RefundAsync(app, outTradeNo, "6.67");
        ShouldBe(await ItemAsync(buyer, tradeNo), "posted", 0, 100, clawedBack: 100);
        (await WalletAsync(buyer)).ShouldBe((Start, 0L));
        ShouldBalance(await GetAsync(campaign), 10_000, 0);
        (await Server.SettlementAsync(app.MerchantId)).Available.ShouldBe(0);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Refunds_made_before_the_cashback_is_earned_are_taken_into_account_when_it_is()
    {
        var (app, campaign, buyer) = await SetUpAsync(new { percent_bps = 1_000, settle_after_hours = 0 });
        Host.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            var (partNo, partOut) = await PayAsync(app, buyer, "10.00");
            var (fullNo, fullOut) = await PayAsync(app, buyer, "4.00");
            // Nothing is earned yet, so nothing is taken from these refunds.
            await RefundAsync(app, partOut, "3.33");
            await RefundAsync(app, fullOut, "4.00");
            (await WalletAsync(buyer)).ShouldBe((Start - 1_000 + 333, 0L));
            (await CashbackAsync(buyer))["items"]!.AsArray().ShouldBeEmpty();
            Host.Hold.SetResult();

            // Earned on the whole payment, less what the refund already took: 100 − floor(100 × 333 / 1000) = 67 posted.
            ShouldBe(await ItemEventuallyAsync(buyer, fullNo), "voided", 0, 40, voided: 40);
            ShouldBe(await ItemAsync(buyer, partNo), "posted", 67, 100, voided: 33);
            (await WalletAsync(buyer)).ShouldBe((Start - 1_000 + 333 + 67, 0L));
            ShouldBalance(await GetAsync(campaign), 10_000, 67);
            await Server.AssertLedgerOkAsync();

            // The rest of the refund claws back the 67 from itself: the buyer ends exactly where they started.
            await RefundAsync(app, partOut, "6.67");
            ShouldBe(await ItemAsync(buyer, partNo), "posted", 0, 100, voided: 33, clawedBack: 67);
            (await WalletAsync(buyer)).ShouldBe((Start, 0L));
            ShouldBalance(await GetAsync(campaign), 10_000, 0);
            await Server.AssertLedgerOkAsync();
        }
        finally
        {
            Host.Hold.TrySetResult();
            Host.Hold = null;
        }
    }

    [Fact]
    public async Task What_comes_back_to_a_stopped_campaign_goes_on_to_its_funder()
    {
        var (app, campaign, buyer) = await SetUpAsync(new { percent_bps = 1_000, settle_after_hours = 24 });
        var (pendingNo, pendingOut) = await PayAsync(app, buyer, "10.00");
        await ItemEventuallyAsync(buyer, pendingNo);
        var spendBefore = await PlatformSpendAsync();
        // The stop returns what is not held: the pending 100 stays spent.
        var stopped = await StopAsync(campaign);
        stopped["budget"]!["returned"]!.GetValue<long>().ShouldBe(9_900);
        ShouldBalance(stopped, 10_000, 100);

        // A refund voids 40 of it; the 40 comes back to the budget and on to the platform in the same chain.
        await RefundAsync(app, pendingOut, "4.00");
        ShouldBe(await ItemAsync(buyer, pendingNo), "pending", 60, 100, voided: 40);
        var view = await GetAsync(campaign);
        view["budget"]!["returned"]!.GetValue<long>().ShouldBe(9_940);
        ShouldBalance(view, 10_000, 60);
        (await PlatformSpendAsync()).ShouldBe(spendBefore - 9_900 - 40);
        await Server.AssertLedgerOkAsync();

        // What is left still settles: the money was held for it.
        Server.Clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1));
        await SweepAsync();
        buyer = await LoginAgainAsync(buyer);
        ShouldBe(await ItemAsync(buyer, pendingNo), "posted", 60, 100, voided: 40);
        (await WalletAsync(buyer)).ShouldBe((Start - 1_000 + 400 + 60, 0L));
        ShouldBalance(await GetAsync(campaign), 10_000, 60);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task An_exhausted_budget_pays_no_cashback_and_is_never_overspent()
    {
        var (app, campaign, buyer) = await SetUpAsync(new { percent_bps = 1_000, settle_after_hours = 0 }, budget: 150);
        var (first, _) = await PayAsync(app, buyer, "10.00");  // 100 of 150
        var (second, _) = await PayAsync(app, buyer, "10.00"); // 100 > 50 left: none
        var (third, _) = await PayAsync(app, buyer, "5.00");   // exactly the 50 left
        ShouldBe(await ItemEventuallyAsync(buyer, third), "posted", 50, 50);
        ShouldBe(await ItemAsync(buyer, first), "posted", 100, 100);
        ShouldBe(await ItemAsync(buyer, second), "refused", 0, 100);
        (await WalletAsync(buyer)).ShouldBe((Start - 2_500 + 150, 0L));
        ShouldBalance(await GetAsync(campaign), 150, 150);
        (await PostedEventsAsync(second)).ShouldBe(0);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Only_the_best_campaign_pays()
    {
        var app = await Server.CreateMerchantWithAppAsync(feeBps: 60);
        var five = (await CreateAsync(CashbackCampaign(app.MerchantId, new { percent_bps = 500, settle_after_hours = 0 })))["id"]!.GetValue<Guid>();
        var tenCapped = (await CreateAsync(CashbackCampaign(app.MerchantId, new { percent_bps = 1_000, cap = 30, settle_after_hours = 0 })))["id"]!.GetValue<Guid>();
        var buyer = await Server.BuyerAsync(Start);
        var (tradeNo, _) = await PayAsync(app, buyer, "10.00"); // 5% = 50 beats 10% capped at 30
        var item = await ItemEventuallyAsync(buyer, tradeNo);
        ShouldBe(item, "posted", 50, 50);
        item["campaign_id"]!.GetValue<Guid>().ShouldBe(five);
        ShouldBalance(await GetAsync(five), 10_000, 50);
        ShouldBalance(await GetAsync(tenCapped), 10_000, 0);
        await Server.AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Redelivered_events_and_sweeps_change_nothing()
    {
        var (app, _, buyer) = await SetUpAsync(new { percent_bps = 1_000, settle_after_hours = 1 });
        var (tradeNo, outTradeNo) = await PayAsync(app, buyer, "25.50");
        await ItemEventuallyAsync(buyer, tradeNo);
        await RefundAsync(app, outTradeNo, "10.20"); // floor(255 × 1020 / 2550) = 102 voided
        Server.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        await SweepAsync();
        buyer = await LoginAgainAsync(buyer);
        ShouldBe(await ItemAsync(buyer, tradeNo), "posted", 153, 255, voided: 102);
        var fingerprint = await Server.LedgerFingerprintAsync();

        // As after a crash between the handler's commit and its checkpoint: every retained event is delivered again.
        var subscriber = Server.Services.GetServices<IEventSubscriber>().Single(s => s.Name == CashbackSubscriber.SubscriberName);
        IReadOnlyList<StoredEvent> all;
        await using (var connection = await Server.Db.OpenAsync())
        {
            all = await EventLog.ReadAsync(connection, EventPosition.Start, 100_000);
        }
        await subscriber.HandleAsync([.. all.Where(e => e.Stream == "trade:" + tradeNo)], CancellationToken.None);
        await subscriber.HandleAsync(all, CancellationToken.None);
        await SweepAsync();

        (await Server.LedgerFingerprintAsync()).ShouldBe(fingerprint);
        ShouldBe(await ItemAsync(buyer, tradeNo), "posted", 153, 255, voided: 102);
        (await Server.CountAsync("SELECT count(*) FROM cashback_credits WHERE trade_no = @tradeNo", new { tradeNo })).ShouldBe(1);
        (await PostedEventsAsync(tradeNo)).ShouldBe(1);
        await Server.AssertLedgerOkAsync();
    }
}

public sealed class SqliteCashbackTests(SqliteCashbackServer server) : CashbackTests<SqliteCashbackServer>(server);

public sealed class PostgresCashbackTests(PostgresCashbackServer server) : CashbackTests<PostgresCashbackServer>(server);
