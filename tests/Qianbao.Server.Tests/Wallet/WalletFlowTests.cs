using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Money;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Wallet;

/// <summary>The wallet's everyday flows, end to end over HTTP, on each engine.</summary>
public abstract class WalletFlowTests<THost>(THost host) : IClassFixture<THost> where THost : QianbaoHost
{
    protected THost Host { get; } = host;

    [Fact]
    public async Task TopUpTransferWithdrawAndHistory()
    {
        var http = Host.CreateClient();
        var alice = await WalletClient.RegisterAsync(http, "Alice");
        var bob = await WalletClient.RegisterAsync(http, "Bob");

        await alice.TopUpAsync(10_000);
        (await alice.AvailableAsync()).ShouldBe(10_000);

        var sent = await alice.PostAsync("/v1/transfers", new { to_phone = bob.Phone, amount = 2_500, currency = "CNY", note = "lunch" });
        sent.StatusCode.ShouldBe(HttpStatusCode.Created, await sent.Content.ReadAsStringAsync());
        var transferId = await sent.IdAsync();
        (await alice.AvailableAsync()).ShouldBe(7_500);
        (await bob.AvailableAsync()).ShouldBe(2_500);

        (await bob.GetJsonAsync($"/v1/transfers/{transferId}"))["direction"]!.GetValue<string>().ShouldBe("in");
        var stranger = await WalletClient.RegisterAsync(http, "Eve");
        await (await stranger.GetAsync($"/v1/transfers/{transferId}")).ShouldBeProblemAsync(404, "not_found");

        var withdrawal = await alice.PostAsync("/v1/withdrawals", new { amount = 1_000 });
        withdrawal.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var withdrawalId = await withdrawal.IdAsync();
        await Poll.UntilAsync(async () => (await alice.GetJsonAsync($"/v1/withdrawals/{withdrawalId}"))["status"]!.GetValue<string>() == "succeeded", "withdrawal");
        (await alice.AvailableAsync()).ShouldBe(6_500);

        var history = await alice.GetJsonAsync("/v1/transactions?limit=2");
        var items = history["items"]!.AsArray();
        items.Count.ShouldBe(2);
        items[0]!["type"]!.GetValue<string>().ShouldBe("withdrawal");
        items[1]!["type"]!.GetValue<string>().ShouldBe("transfer");
        items[1]!["counterparty"]!["name_masked"]!.GetValue<string>().ShouldBe("B***"); // another person's name is masked
        var next = history["next_cursor"]!.GetValue<string>();
        var page2 = await alice.GetJsonAsync($"/v1/transactions?limit=2&cursor={next}");
        page2["items"]!.AsArray().Single()!["type"]!.GetValue<string>().ShouldBe("topup");
        page2["next_cursor"].ShouldBeNull();

        var topups = await alice.GetJsonAsync("/v1/transactions?type=topup");
        topups["items"]!.AsArray().Count.ShouldBe(1);

        await AssertLedgerBalancedAsync();
    }

    /// <summary>
    /// The history page is written straight into the response (no serializer) and its counterparties' owners come from memory
    /// after the first read (AccountOwners): the JSON keeps the API's shape (snake_case, nulls left out, times with offset) and
    /// a second read, served from memory, answers the same.
    /// </summary>
    [Fact]
    public async Task HistoryPageKeepsItsJsonShapeAndAnswersTheSameFromMemory()
    {
        var http = Host.CreateClient();
        var alice = await WalletClient.RegisterAsync(http, "Alice");
        var bob = await WalletClient.RegisterAsync(http, "Bob");
        await alice.TopUpAsync(5_000);
        (await alice.PostAsync("/v1/transfers", new { to_phone = bob.Phone, amount = 1_200, currency = "CNY", note = "午饭 \"lunch\"" })).StatusCode.ShouldBe(HttpStatusCode.Created);

        var response = await alice.GetAsync("/v1/transactions?limit=1");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().ShouldBe("application/json; charset=utf-8");
        var text = await response.Content.ReadAsStringAsync();
        var page = JsonNode.Parse(text)!.AsObject();
        page.Select(p => p.Key).ShouldBe(["items", "next_cursor"]);
        var item = page["items"]!.AsArray().Single()!.AsObject();
        item.Select(p => p.Key).ShouldBe(["id", "type", "direction", "amount", "currency", "status", "counterparty", "note", "created_at"]);
        item["type"]!.GetValue<string>().ShouldBe("transfer");
        item["direction"]!.GetValue<string>().ShouldBe("debit");
        item["amount"]!.GetValue<long>().ShouldBe(1_200);
        item["status"]!.GetValue<string>().ShouldBe("completed");
        item["note"]!.GetValue<string>().ShouldBe("午饭 \"lunch\"");
        item["counterparty"]!.AsObject().Select(p => p.Key).ShouldBe(["user_id", "name_masked"]);
        item["counterparty"]!["user_id"]!.GetValue<Guid>().ShouldBe(bob.UserId);
        item["counterparty"]!["name_masked"]!.GetValue<string>().ShouldBe("B***");
        item["created_at"]!.GetValue<string>().ShouldEndWith("+00:00");
        DateTimeOffset.Parse(item["created_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)
            .ShouldBeInRange(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));

        // Bob's side (credit, Alice as counterparty) and the top-up (a platform account: no counterparty, no note).
        var bobItem = (await bob.GetJsonAsync("/v1/transactions"))["items"]!.AsArray().Single()!.AsObject();
        bobItem["direction"]!.GetValue<string>().ShouldBe("credit");
        bobItem["counterparty"]!["user_id"]!.GetValue<Guid>().ShouldBe(alice.UserId);
        var topup = (await alice.GetJsonAsync("/v1/transactions?type=topup"))["items"]!.AsArray().Single()!.AsObject();
        topup.Select(p => p.Key).ShouldBe(["id", "type", "direction", "amount", "currency", "status", "created_at"]);

        // Read again: the counterparties' owners now come from memory; the answer is the same.
        (await (await alice.GetAsync("/v1/transactions?limit=1")).Content.ReadAsStringAsync()).ShouldBe(text);
    }

    [Fact]
    public async Task DeclinedTopUpAndFailedWithdrawalChangeNoBalance()
    {
        var alice = await WalletClient.RegisterAsync(Host.CreateClient());
        var declined = await alice.PostAsync("/v1/topups", new { amount = 666 }); // the sandbox declines 6.66
        declined.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var id = await declined.IdAsync();
        await Poll.UntilAsync(async () => (await alice.GetJsonAsync($"/v1/topups/{id}"))["status"]!.GetValue<string>() == "failed", "declined top-up");
        (await alice.AvailableAsync()).ShouldBe(0);

        await alice.TopUpAsync(1_000);
        var payout = await alice.PostAsync("/v1/withdrawals", new { amount = 666 });
        var payoutId = await payout.IdAsync();
        await Poll.UntilAsync(async () => (await alice.GetJsonAsync($"/v1/withdrawals/{payoutId}"))["status"]!.GetValue<string>() == "failed", "failed payout");
        (await alice.AvailableAsync()).ShouldBe(1_000);
        await AssertLedgerBalancedAsync();
    }

    [Fact]
    public async Task WithdrawalHoldsFundsUntilPaidOut()
    {
        var alice = await WalletClient.RegisterAsync(Host.CreateClient());
        await alice.TopUpAsync(1_000);
        (await alice.PostAsync("/v1/withdrawals", new { amount = 800 })).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        // The hold is taken at once: the rest cannot be spent twice even before the payout settles.
        await (await alice.PostAsync("/v1/withdrawals", new { amount = 300 })).ShouldBeProblemAsync(422, "insufficient_funds");
    }

    [Fact]
    public async Task ReplayedTransferReturnsTheFirstResponseAndMovesMoneyOnce()
    {
        var http = Host.CreateClient();
        var alice = await WalletClient.RegisterAsync(http);
        var bob = await WalletClient.RegisterAsync(http);
        await alice.TopUpAsync(1_000);

        var first = await alice.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 100 }, "key-1");
        var second = await alice.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 100 }, "key-1");
        first.StatusCode.ShouldBe(HttpStatusCode.Created);
        second.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await second.Content.ReadAsStringAsync()).ShouldBe(await first.Content.ReadAsStringAsync());
        await (await alice.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 101 }, "key-1"))
            .ShouldBeProblemAsync(422, "idempotency_key_reused");
        (await bob.AvailableAsync()).ShouldBe(100);
    }

    [Fact]
    public async Task AKeyStoredByAnotherKindOfRequestRefusesTheTransferAndMovesNothing()
    {
        // The transfer does not look its key up before the batch; on PostgreSQL its batch does not read the key-free guard either
        // (the stored response's INSERT finds the key instead, and the batch is decided again with the guard read). A key stored
        // by a withdrawal has other transfer ids than this transfer would make, so only the key itself can refuse it.
        var http = Host.CreateClient();
        var alice = await WalletClient.RegisterAsync(http);
        var bob = await WalletClient.RegisterAsync(http);
        await alice.TopUpAsync(1_000);
        (await alice.PostAsync("/v1/withdrawals", new { amount = 300 }, "key-shared")).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        await (await alice.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 100 }, "key-shared"))
            .ShouldBeProblemAsync(422, "idempotency_key_reused");
        (await bob.AvailableAsync()).ShouldBe(0);
        (await alice.AvailableAsync()).ShouldBe(700);
        // A fresh key still goes through in the same way.
        (await alice.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 100 }, "key-fresh")).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await bob.AvailableAsync()).ShouldBe(100);
    }

    [Fact]
    public async Task ARefusedTransferReplaysItsRefusalEvenOnceTheMoneyIsThere()
    {
        // The transfer path does not look its key up before the batch (the batch is guarded by it): a stored refusal must
        // still be what a replay gets, not a second try that now succeeds.
        var http = Host.CreateClient();
        var alice = await WalletClient.RegisterAsync(http);
        var bob = await WalletClient.RegisterAsync(http);
        await alice.TopUpAsync(1_000);
        var first = await alice.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 2_000 }, "key-refused");
        await first.ShouldBeProblemAsync(422, "insufficient_funds");
        await alice.TopUpAsync(5_000);

        var replay = await alice.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 2_000 }, "key-refused");
        await replay.ShouldBeProblemAsync(422, "insufficient_funds");
        (await alice.AvailableAsync()).ShouldBe(6_000);
        (await bob.AvailableAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task TwoHundredConcurrentTransfersFromAWalletCoveringFiftySucceedExactlyFifty()
    {
        var http = Host.CreateClient();
        var payer = await WalletClient.RegisterAsync(http);
        var payee = await WalletClient.RegisterAsync(http);
        await payer.TopUpAsync(50 * 100);

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ =>
            payer.PostAsync("/v1/transfers", new { to_user_id = payee.UserId, amount = 100 })));

        // Say what the odd answers were, so a failure under load names its cause.
        var unexpected = await UnexpectedAsync(responses, HttpStatusCode.Created, HttpStatusCode.UnprocessableEntity);
        responses.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(50, unexpected);
        responses.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity).ShouldBe(150, unexpected);
        (await payer.AvailableAsync()).ShouldBe(0);
        (await payee.AvailableAsync()).ShouldBe(5_000);
        await AssertLedgerBalancedAsync();
    }

    [Fact]
    public async Task HundredConcurrentCreditsIntoOneWalletAreAllKept()
    {
        var http = Host.CreateClient();
        var payee = await WalletClient.RegisterAsync(http);
        var payers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => WalletClient.RegisterAsync(http)));
        await Task.WhenAll(payers.Select(p => p.TopUpAsync(1_000)));

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            payers[i % payers.Length].PostAsync("/v1/transfers", new { to_user_id = payee.UserId, amount = 7 })));

        responses.ShouldAllBe(r => r.StatusCode == HttpStatusCode.Created);
        (await payee.AvailableAsync()).ShouldBe(700);
        await AssertLedgerBalancedAsync();
    }

    [Fact]
    public async Task TheSameIdempotencyKeyTwentyTimesAtOnceMakesOneTransfer()
    {
        var http = Host.CreateClient();
        var payer = await WalletClient.RegisterAsync(http);
        var payee = await WalletClient.RegisterAsync(http);
        await payer.TopUpAsync(10_000);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            payer.PostAsync("/v1/transfers", new { to_user_id = payee.UserId, amount = 300 }, "same-key")));

        responses.ShouldAllBe(r => r.StatusCode == HttpStatusCode.Created);
        var ids = await Task.WhenAll(responses.Select(r => r.IdAsync()));
        ids.Distinct().Count().ShouldBe(1);
        (await payee.AvailableAsync()).ShouldBe(300);
        (await payer.AvailableAsync()).ShouldBe(9_700);
    }

    /// <summary>The status and body of each response whose status is not one of <paramref name="expected"/> (at most 10) and what the server logged, for assertion messages.</summary>
    protected async Task<string> UnexpectedAsync(HttpResponseMessage[] responses, params HttpStatusCode[] expected)
    {
        var odd = responses.Where(r => !expected.Contains(r.StatusCode)).ToArray();
        if (odd.Length == 0) return "no unexpected statuses";
        var lines = await Task.WhenAll(odd.Take(10).Select(async r => $"{(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}"));
        return $"{odd.Length} unexpected responses:\n" + string.Join("\n", lines) + "\nserver log:\n" + Host.Logs.Recent();
    }

    protected async Task AssertLedgerBalancedAsync()
    {
        var report = await LedgerCheck.RunAsync((Db)Host.Services.GetService(typeof(Db))!, CancellationToken.None);
        report.Violations.ShouldBeEmpty();
        report.Ok.ShouldBeTrue();

        var http = Host.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", Host.OperatorKey);
        var check = await http.GetFromJsonAsync<JsonObject>("/admin/v1/ledger/check");
        check!["ok"]!.GetValue<bool>().ShouldBeTrue();
    }
}

public sealed class SqliteWalletFlowTests(SqliteHost host) : WalletFlowTests<SqliteHost>(host);

public sealed class PostgresWalletFlowTests(PostgresHost host) : WalletFlowTests<PostgresHost>(host);
