using Npgsql;
using Qianbao.Server.Money;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Wallet;

/// <summary>
/// The PostgreSQL history indexes leave the tier-limit transfers out (migration 0044): a partial index serves only a statement whose
/// filters imply its predicate, so each page statement is held to walking them. Without it the page would read a person's whole
/// history (or the table) for every page. PostgreSQL only: SQLite keeps its full indexes.
/// </summary>
public sealed class HistoryIndexTests(PostgresHost host) : IClassFixture<PostgresHost>
{
    [Fact]
    public async Task EveryHistoryStatementWalksTheIndexesThatLeaveTheLimitTransfersOut()
    {
        var reader = await WalletClient.RegisterAsync(host.CreateClient());
        await reader.TopUpAsync(10_000);

        await using var connection = new NpgsqlConnection(host.PostgresConnectionString);
        await connection.OpenAsync();
        await using (var off = new NpgsqlCommand("SET enable_seqscan = off; SET enable_bitmapscan = off", connection)) await off.ExecuteNonQueryAsync();
        var statements = LedgerHistory.PostgresStatements;
        statements.Count.ShouldBe(2);
        for (var i = 0; i < statements.Count; i++)
        {
            // The parameters' types in the order LedgerHistory binds them: before, owner, account code, transfer code, from, to, take, account.
            var prepare = $"PREPARE page{i} (bigint, uuid, integer, integer, bigint, bigint, integer, uuid) AS {statements[i]}";
            await using (var prepared = new NpgsqlCommand(prepare, connection)) await prepared.ExecuteNonQueryAsync();
            var explain = $"EXPLAIN EXECUTE page{i} ({long.MaxValue}, '{Guid.NewGuid()}', 1, 0, 0, {long.MaxValue}, 21, '{Guid.NewGuid()}')";
            var plan = new List<string>();
            await using (var command = new NpgsqlCommand(explain, connection))
            await using (var rows = await command.ExecuteReaderAsync())
                while (await rows.ReadAsync()) plan.Add(rows.GetString(0));
            var text = string.Join("\n", plan);
            text.ShouldContain("transfers_debit_history", customMessage: text);
            text.ShouldContain("transfers_credit_history", customMessage: text);
            text.ShouldNotContain("Seq Scan on transfers", customMessage: text);
        }
    }
}
