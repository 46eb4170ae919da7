using System.Net;
using Npgsql;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Wallet;

/// <summary>
/// History pages that meet a PostgreSQL out of connection slots wait for one, never answer 500. The history pool multiplexes, so
/// its physical connections are opened while a page's statement is sent, not at the open that <c>PostgresSlotWait</c> waits at:
/// <c>LedgerHistory</c> waits there itself. PostgreSQL only: SQLite has no connection limit.
/// </summary>
public sealed class HistoryConnectionSlotTests(PostgresConnectionSlotTests.FewSlotsHost host) : IClassFixture<PostgresConnectionSlotTests.FewSlotsHost>
{
    [Fact]
    public async Task HistoryPagesThatMeetAFullDatabaseWaitForASlotInsteadOfFailing()
    {
        var http = host.CreateClient();
        var reader = await WalletClient.RegisterAsync(http);
        await reader.TopUpAsync(50 * 100);
        // One page first: the history pool is bootstrapped and holds one connection, so the burst below needs new ones.
        (await reader.GetAsync("/v1/transactions")).StatusCode.ShouldBe(HttpStatusCode.OK);

        await using var neighbours = await host.TakeEverySlotAsync();
        var reading = Task.WhenAll(Enumerable.Range(0, 100).Select(_ => reader.GetAsync("/v1/transactions")));
        // Either the burst has been served on the connections the pool holds, or it met the full database and waits.
        await Poll.UntilAsync(() => Task.FromResult(reading.IsCompleted || host.Logs.Recent(CapturedLogs.EntriesMax).Contains("no free connection slot")),
            "the history pages to be served or to wait for a connection slot");
        await neighbours.DisposeAsync();

        var responses = await reading;
        var statuses = string.Join(", ", responses.GroupBy(r => (int)r.StatusCode).Select(g => $"{g.Key}: {g.Count()}")) + "\n" + host.Logs.Recent();
        responses.Count(r => r.StatusCode == HttpStatusCode.OK).ShouldBe(100, statuses);
        foreach (var response in responses) (await response.Content.ReadAsStringAsync()).ShouldContain("\"type\":\"topup\"");
    }
}
