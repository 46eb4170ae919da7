using System.Net;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Wallet;

/// <summary>
/// On PostgreSQL the history page of an owner whose only wallet is the CNY one is read by a statement for that one account (its
/// id derived from the owner), which checks in the same statement that the owner has no other wallet and otherwise hands over to
/// the general statement. Every case of that check answers the whole history, newest first: a CNY wallet alone (both sides, a
/// cursor across them), a second wallet that appears after pages were read, a wallet in another currency only, no wallet at all.
/// </summary>
public abstract class HistorySoleAccountTests<THost>(THost host) : IClassFixture<THost> where THost : QianbaoHost
{
    protected THost Host { get; } = host;

    [Fact]
    public async Task TheCnyWalletAloneThenASecondWalletShowEveryEntryInOrder()
    {
        var http = Host.CreateClient();
        var alice = await WalletClient.RegisterAsync(http, "Alice");
        var bob = await WalletClient.RegisterAsync(http, "Bob");
        await alice.TopUpAsync(5_000);
        await bob.TopUpAsync(3_000);
        (await alice.PostAsync("/v1/transfers", new { to_phone = bob.Phone, amount = 700, currency = "CNY" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await bob.PostAsync("/v1/transfers", new { to_phone = alice.Phone, amount = 200, currency = "CNY" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await alice.PostAsync("/v1/transfers", new { to_phone = bob.Phone, amount = 300, currency = "CNY" })).StatusCode.ShouldBe(HttpStatusCode.Created);

        // One wallet: both sides merged newest first, and the same across pages of two.
        (await Amounts(alice, "/v1/transactions")).ShouldBe([(300L, "debit"), (200L, "credit"), (700L, "debit"), (5_000L, "credit")]);
        (await Paged(alice, 2)).ShouldBe([(300L, "debit"), (200L, "credit"), (700L, "debit"), (5_000L, "credit")]);

        // A second wallet appears: its entry is on the page with the CNY wallet's.
        await alice.TopUpAsync(900, "HKD");
        var page = await alice.GetJsonAsync("/v1/transactions");
        var first = page["items"]!.AsArray()[0]!;
        first["currency"]!.GetValue<string>().ShouldBe("HKD");
        first["amount"]!.GetValue<long>().ShouldBe(900);
        (await Amounts(alice, "/v1/transactions")).ShouldBe([(900L, "credit"), (300L, "debit"), (200L, "credit"), (700L, "debit"), (5_000L, "credit")]);
        (await Paged(alice, 2)).ShouldBe([(900L, "credit"), (300L, "debit"), (200L, "credit"), (700L, "debit"), (5_000L, "credit")]);
        (await Amounts(bob, "/v1/transactions")).ShouldBe([(300L, "credit"), (200L, "debit"), (700L, "credit"), (3_000L, "credit")]);
    }

    [Fact]
    public async Task AWalletInAnotherCurrencyOnlyAndNoWalletAtAll()
    {
        var http = Host.CreateClient();
        var carol = await WalletClient.RegisterAsync(http, "Carol");
        (await carol.GetJsonAsync("/v1/transactions"))["items"]!.AsArray().Count.ShouldBe(0);

        await carol.TopUpAsync(400, "HKD");
        await carol.TopUpAsync(500, "HKD");
        (await Amounts(carol, "/v1/transactions")).ShouldBe([(500L, "credit"), (400L, "credit")]);
        (await Paged(carol, 1)).ShouldBe([(500L, "credit"), (400L, "credit")]);
    }

    private static async Task<List<(long Amount, string Direction)>> Amounts(WalletClient who, string path) =>
        [.. (await who.GetJsonAsync(path))["items"]!.AsArray().Select(i => (i!["amount"]!.GetValue<long>(), i["direction"]!.GetValue<string>()))];

    /// <summary>The whole history read page by page (a bound on the pages, so a cursor that never ends fails).</summary>
    private static async Task<List<(long Amount, string Direction)>> Paged(WalletClient who, int limit)
    {
        var all = new List<(long, string)>();
        string? cursor = null;
        for (var pages = 0; pages < 50; pages++)
        {
            var page = await who.GetJsonAsync($"/v1/transactions?limit={limit}" + (cursor is null ? "" : "&cursor=" + cursor));
            all.AddRange(page["items"]!.AsArray().Select(i => (i!["amount"]!.GetValue<long>(), i["direction"]!.GetValue<string>())));
            cursor = page["next_cursor"]?.GetValue<string>();
            if (cursor is null) return all;
        }
        throw new InvalidOperationException("the history's cursor never ended");
    }
}

public sealed class SqliteHistorySoleAccountTests(SqliteHost host) : HistorySoleAccountTests<SqliteHost>(host);

public sealed class PostgresHistorySoleAccountTests(PostgresHost host) : HistorySoleAccountTests<PostgresHost>(host);
