using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Ledger;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;

namespace Qianbao.Server.Tests.Channels;

/// <summary>
/// Top-ups and withdrawals through an http funding channel (a connector the test runs), on each engine: outcomes by
/// callback and by query, outages, refused callbacks, and holds that no local clock resolves.
/// </summary>
public abstract class HttpChannelTests<THost>(THost host) : IClassFixture<THost> where THost : ChannelHost
{
    private FakeBankConnector Bank => host.Bank;

    [Fact]
    public async Task TopUpSucceedsByTheConnectorsSignedCallback()
    {
        var alice = await WalletClient.RegisterAsync(host.CreateClient());
        var badBefore = Bank.BadlySignedRequests;

        var id = await StartAsync(alice, "/v1/topups", 10_000);
        await UntilStatusAsync(alice, $"/v1/topups/{id}", "succeeded");

        (await alice.AvailableAsync()).ShouldBe(10_000);
        var order = Bank.Orders[id];
        (order.Kind, order.AmountMinor, order.Currency).ShouldBe(("collect", 10_000L, "CNY"));
        Bank.BadlySignedRequests.ShouldBe(badBefore);
        await LedgerIsConsistentAsync();
    }

    [Fact]
    public async Task DeclinedTopUpFailsAndCreditsNothing()
    {
        var alice = await WalletClient.RegisterAsync(host.CreateClient());
        Bank.Decide = o => o.AmountMinor != 777;
        try
        {
            var id = await StartAsync(alice, "/v1/topups", 777);
            await UntilStatusAsync(alice, $"/v1/topups/{id}", "failed");
            (await alice.AvailableAsync()).ShouldBe(0);
        }
        finally
        {
            Bank.Decide = _ => true;
        }
    }

    [Fact]
    public async Task LostCallbackIsReconciledByQuery()
    {
        var alice = await WalletClient.RegisterAsync(host.CreateClient());
        var queriesBefore = Bank.QueryRequests;
        Bank.LoseCallbacks = true;
        try
        {
            var id = await StartAsync(alice, "/v1/topups", 5_000);
            await Poll.UntilAsync(async () => Bank.Orders.TryGetValue(id, out var o) && o.Status == "succeeded", "the bank to settle the order");
            // No callback comes: only hold maintenance asking the connector can settle it.
            await UntilStatusAsync(alice, $"/v1/topups/{id}", "succeeded");
            Bank.QueryRequests.ShouldBeGreaterThan(queriesBefore);
            (await alice.AvailableAsync()).ShouldBe(5_000);
        }
        finally
        {
            Bank.LoseCallbacks = false;
        }
    }

    [Fact]
    public async Task WithdrawalPaysOutAndADeclinedOneReleasesTheAmount()
    {
        var alice = await WalletClient.RegisterAsync(host.CreateClient());
        await alice.TopUpAsync(10_000);

        var paid = await StartAsync(alice, "/v1/withdrawals", 3_000);
        await UntilStatusAsync(alice, $"/v1/withdrawals/{paid}", "succeeded");
        Bank.Orders[paid].Kind.ShouldBe("payout");
        (await alice.AvailableAsync()).ShouldBe(7_000);

        Bank.Decide = o => o.AmountMinor != 1_234;
        try
        {
            var declined = await StartAsync(alice, "/v1/withdrawals", 1_234);
            await UntilStatusAsync(alice, $"/v1/withdrawals/{declined}", "failed");
            (await alice.AvailableAsync()).ShouldBe(7_000);
        }
        finally
        {
            Bank.Decide = _ => true;
        }

        await LedgerIsConsistentAsync();
    }

    [Fact]
    public async Task OrderSentDuringAnOutageIsResubmittedWhenTheConnectorIsBack()
    {
        var alice = await WalletClient.RegisterAsync(host.CreateClient());
        Bank.Down = true;
        Guid id;
        try
        {
            // The hold is durable before the bank is asked: an outage does not fail the request.
            id = await StartAsync(alice, "/v1/topups", 2_000);
            (await StatusAsync(alice, $"/v1/topups/{id}")).ShouldBe("pending");
            Bank.Orders.ContainsKey(id).ShouldBeFalse();
        }
        finally
        {
            Bank.Down = false;
        }

        await UntilStatusAsync(alice, $"/v1/topups/{id}", "succeeded");
        (await alice.AvailableAsync()).ShouldBe(2_000);
    }

    [Fact]
    public async Task BadCallbacksAreRefusedAndChangeNothing()
    {
        var alice = await WalletClient.RegisterAsync(host.CreateClient());
        Bank.Decide = _ => null;
        try
        {
            var id = await StartAsync(alice, "/v1/topups", 4_000);
            var succeeded = FakeBankConnector.CallbackBody(id, "succeeded");
            var failed = FakeBankConnector.CallbackBody(id, "failed");

            await (await Bank.PostCallbackAsync(succeeded, null)).ShouldBeProblemAsync(401, "channel_signature_invalid");
            await (await Bank.PostCallbackAsync(succeeded, Bank.Sign(succeeded, secret: "another-secret-of-enough-length-000000"))).ShouldBeProblemAsync(401, "channel_signature_invalid");
            await (await Bank.PostCallbackAsync(succeeded, Bank.Sign(failed))).ShouldBeProblemAsync(401, "channel_signature_invalid");
            await (await Bank.PostCallbackAsync(succeeded, "t=abc,v1=zz")).ShouldBeProblemAsync(401, "channel_signature_invalid");
            var signature = Bank.Sign(succeeded);
            await (await Bank.PostCallbackAsync(succeeded, signature.Replace("v1=", "v0="))).ShouldBeProblemAsync(401, "channel_signature_invalid");
            await (await Bank.PostCallbackAsync(succeeded, Bank.Sign(succeeded, host.Clock.GetUtcNow().AddMinutes(-6)))).ShouldBeProblemAsync(401, "channel_signature_stale");
            await (await Bank.PostCallbackAsync(succeeded, Bank.Sign(succeeded, host.Clock.GetUtcNow().AddMinutes(6)))).ShouldBeProblemAsync(401, "channel_signature_stale");

            // A genuine callback captured on the wire and replayed after the window.
            host.Clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(2));
            await (await Bank.PostCallbackAsync(succeeded, signature)).ShouldBeProblemAsync(401, "channel_signature_stale");

            var stranger = FakeBankConnector.CallbackBody(Guid.CreateVersion7(), "succeeded");
            await (await Bank.PostCallbackAsync(stranger, Bank.Sign(stranger))).ShouldBeProblemAsync(404, "not_found");
            await (await Bank.PostCallbackAsync(succeeded, Bank.Sign(succeeded), channel: "nope")).ShouldBeProblemAsync(404, "not_found");
            await (await Bank.PostCallbackAsync(succeeded, Bank.Sign(succeeded), channel: "sandbox")).ShouldBeProblemAsync(404, "not_found");
            var vague = FakeBankConnector.CallbackBody(id, "maybe");
            await (await Bank.PostCallbackAsync(vague, Bank.Sign(vague))).ShouldBeProblemAsync(400, "invalid_callback");

            (await StatusAsync(alice, $"/v1/topups/{id}")).ShouldBe("pending");
            (await alice.AvailableAsync()).ShouldBe(0);

            // The genuine callback, in time: applied once however often it comes.
            var fresh = Bank.Sign(succeeded);
            for (var i = 0; i < 2; i++)
            {
                var response = await Bank.PostCallbackAsync(succeeded, fresh);
                response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
                (await response.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>().ShouldBe("succeeded");
            }

            (await alice.AvailableAsync()).ShouldBe(4_000);
            await (await Bank.PostCallbackAsync(failed, Bank.Sign(failed))).ShouldBeProblemAsync(409, "channel_outcome_conflict");
            (await alice.AvailableAsync()).ShouldBe(4_000);
        }
        finally
        {
            Bank.Decide = _ => true;
        }
    }

    [Fact]
    public async Task ChannelHoldOutlivesAnyLocalTimeoutAndSettlesWhenTheBankAnswers()
    {
        var http = host.CreateClient();
        var alice = await WalletClient.RegisterAsync(http);
        await alice.TopUpAsync(5_000);
        Bank.Decide = _ => null;
        Guid id;
        try
        {
            id = await StartAsync(alice, "/v1/withdrawals", 2_000);
        }
        finally
        {
            Bank.Decide = _ => true;
        }

        var store = host.Services.GetRequiredService<LedgerStore>();
        (await store.GetTransferAsync(new TransferId(id), default))!.TimeoutSeconds.ShouldBe(0u);

        // Longer than any hold may last in the ledger (30 days): still only the bank can settle it.
        host.Clock.Advance(TimeSpan.FromDays(31));
        await host.Services.GetRequiredService<HoldMaintenance>().RunOnceAsync(default);
        (await store.GetTransferAsync(new TransferId(id), default))!.State.ShouldBe(PendingState.Pending);

        alice = await LogInAgainAsync(http, alice);
        (await alice.AvailableAsync()).ShouldBe(3_000);
        await Bank.CompleteAsync(id, succeeded: true);
        (await StatusAsync(alice, $"/v1/withdrawals/{id}")).ShouldBe("succeeded");
        (await alice.AvailableAsync()).ShouldBe(3_000);
        await LedgerIsConsistentAsync();
    }

    [Fact]
    public async Task LateSuccessOfALegacyHoldPastItsTimeoutPaysOutOnce()
    {
        var http = host.CreateClient();
        var alice = await WalletClient.RegisterAsync(http);
        await alice.TopUpAsync(6_000);
        // A withdrawal hold as created before channel holds stopped having a timeout.
        var id = await LegacyWithdrawalHoldAsync(alice, 2_500);
        (await alice.AvailableAsync()).ShouldBe(3_500);

        host.Clock.Advance(TimeSpan.FromMinutes(2));
        await host.Services.GetRequiredService<HoldMaintenance>().RunOnceAsync(default);
        var store = host.Services.GetRequiredService<LedgerStore>();
        (await store.GetTransferAsync(new TransferId(id), default))!.State.ShouldBe(PendingState.Pending, "the expiry sweep must leave channel holds alone");

        // The bank paid: the ledger lapses the hold as it is settled, and the payout is booked directly instead.
        await Bank.CompleteAsync(id, succeeded: true);
        alice = await LogInAgainAsync(http, alice);
        (await alice.AvailableAsync()).ShouldBe(3_500);
        (await StatusAsync(alice, $"/v1/withdrawals/{id}")).ShouldBe("succeeded");

        await Bank.CompleteAsync(id, succeeded: true);
        await host.Services.GetRequiredService<HoldMaintenance>().RunOnceAsync(default);
        (await alice.AvailableAsync()).ShouldBe(3_500);
        await LedgerIsConsistentAsync();
    }

    [Fact]
    public async Task LateSuccessAfterTheHoldWasReleasedTakesTheRefundBackOnce()
    {
        var http = host.CreateClient();
        var alice = await WalletClient.RegisterAsync(http);
        await alice.TopUpAsync(6_000);
        var paid = await LegacyWithdrawalHoldAsync(alice, 2_500);
        var declined = await LegacyWithdrawalHoldAsync(alice, 1_000);
        (await alice.AvailableAsync()).ShouldBe(2_500);

        // What the expiry sweep did to channel holds before the rule: released them, giving the amount back.
        host.Clock.Advance(TimeSpan.FromMinutes(2));
        var executor = host.Services.GetRequiredService<LedgerExecutor>();
        foreach (var hold in new[] { paid, declined })
            (await executor.SubmitAsync(new Transfer(new TransferId(Guid.CreateVersion7()), default, default, 0, Currency.Cny, TransferCodes.Withdrawal,
                TransferFlags.VoidPending, new TransferId(hold)))).ShouldBe(TransferResult.PendingTransferExpired);
        alice = await LogInAgainAsync(http, alice);
        (await alice.AvailableAsync()).ShouldBe(6_000);

        // The bank paid one of them after all: the refund is taken back, once; the declined one stays refunded.
        await Bank.CompleteAsync(paid, succeeded: true);
        await Bank.CompleteAsync(paid, succeeded: true);
        await Bank.CompleteAsync(declined, succeeded: false);
        await host.Services.GetRequiredService<HoldMaintenance>().RunOnceAsync(default);
        (await alice.AvailableAsync()).ShouldBe(3_500);
        (await StatusAsync(alice, $"/v1/withdrawals/{paid}")).ShouldBe("succeeded");
        (await StatusAsync(alice, $"/v1/withdrawals/{declined}")).ShouldBe("expired");
        await LedgerIsConsistentAsync();
    }

    private async Task<Guid> LegacyWithdrawalHoldAsync(WalletClient owner, long amount)
    {
        var id = Guid.CreateVersion7();
        var wallet = ChartOfAccounts.UserWallet(owner.UserId, Currency.Cny);
        var clearing = ChartOfAccounts.ChannelClearing("bank", Currency.Cny);
        var result = await host.Services.GetRequiredService<LedgerExecutor>().SubmitAsync(new Transfer(new TransferId(id), wallet.Id, clearing.Id, amount,
            Currency.Cny, TransferCodes.Withdrawal, TransferFlags.Pending, TimeoutSeconds: 60));
        result.ShouldBe(TransferResult.Created);
        Bank.Accept(id, "payout", amount);
        return id;
    }

    private static async Task<Guid> StartAsync(WalletClient client, string path, long amount)
    {
        var response = await client.PostAsync(path, new { amount, currency = "CNY" });
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return await response.IdAsync();
    }

    private static async Task<string> StatusAsync(WalletClient client, string path) =>
        (await client.GetJsonAsync(path))["status"]!.GetValue<string>();

    private static Task UntilStatusAsync(WalletClient client, string path, string status) =>
        Poll.UntilAsync(async () => await StatusAsync(client, path) == status, $"{path} to be {status}");

    /// <summary>After the shared clock jumped past the token's lifetime.</summary>
    private static async Task<WalletClient> LogInAgainAsync(HttpClient http, WalletClient client) =>
        new(http, client.UserId, client.Phone, await WalletClient.TokenAsync(http, client.Phone, "correct horse"));

    private async Task LedgerIsConsistentAsync()
    {
        var report = await LedgerCheck.RunAsync(host.Services.GetRequiredService<Db>(), default);
        report.Ok.ShouldBeTrue(string.Join("; ", report.Violations));
    }
}

public sealed class SqliteHttpChannelTests(SqliteChannelHost host) : HttpChannelTests<SqliteChannelHost>(host);

public sealed class PostgresHttpChannelTests(PostgresChannelHost host) : HttpChannelTests<PostgresChannelHost>(host);
