using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Ledger;

/// <summary>
/// On PostgreSQL a batch of keyed transfers reads its accounts lock-free on its first attempt: the idempotency key, assumed free
/// there, is its only guard and is checked by its response's INSERT, so no checker needs the rows locked. Concurrent transfers
/// among few wallets (batches in flight sharing accounts) must still never overdraw one nor lose or double a transfer, and a
/// replayed key still answers what it answered.
/// </summary>
public sealed class KeyedBatchesLockFreeTests(PostgresHost host) : IClassFixture<PostgresHost>
{
    [Fact]
    public async Task KeyedTransfersAmongFewWalletsReadLockFreeAndNeitherOverdrawNorDouble()
    {
        var http = host.CreateClient();
        var people = new List<WalletClient>();
        for (var i = 0; i < 4; i++) people.Add(await WalletClient.RegisterAsync(http));
        foreach (var person in people) await person.TopUpAsync(1_000);
        var store = host.Services.GetRequiredService<LedgerExecutor>().Store;
        var before = store.Phases.Take();

        // 160 transfers of 30 fen around the ring: each wallet is asked for 40 × 30 = 1,200 against the 1,000 it holds plus what it
        // receives, so some are refused for funds; the total held never changes.
        var sends = Enumerable.Range(0, 160).Select(i => people[i % 4].PostAsync("/v1/transfers",
            new { to_user_id = people[(i + 1) % 4].UserId, amount = 30, currency = "CNY" }, idempotencyKey: $"ring-{i}")).ToArray();
        var responses = await Task.WhenAll(sends);
        var statuses = responses.Select(r => (int)r.StatusCode).ToArray();
        statuses.ShouldAllBe(s => s == 201 || s == 422, string.Join(",", statuses));

        var window = store.Phases.Take().Minus(before);
        window.LockFreeAttempts.ShouldBeGreaterThan(0, $"{window.Attempts} attempts");
        long total = 0;
        foreach (var person in people)
        {
            var available = await person.AvailableAsync();
            available.ShouldBeGreaterThanOrEqualTo(0);
            total += available;
        }
        total.ShouldBe(4_000);
        // A replay answers as the first time did, whatever the batch it lands in.
        using (var replay = await people[0].PostAsync("/v1/transfers", new { to_user_id = people[1].UserId, amount = 30, currency = "CNY" }, idempotencyKey: "ring-0"))
            ((int)replay.StatusCode).ShouldBe(statuses[0]);
        var check = await Qianbao.Server.Money.LedgerCheck.RunAsync(host.Services.GetRequiredService<Qianbao.Server.Storage.Db>(), CancellationToken.None);
        check.Violations.ShouldBeEmpty();
    }
}
