using System.Net;
using Npgsql;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Wallet;

/// <summary>
/// A PostgreSQL out of connection slots (other processes on the cluster hold them) makes requests wait for a slot,
/// never answer 500. This is what made the two-hundred-transfers test flaky in full runs: a two-server test on the
/// same throwaway cluster held about 200 of its 300 connections, and four requests got 500 "too many clients".
/// PostgreSQL only: SQLite has no connection limit.
/// </summary>
public sealed class PostgresConnectionSlotTests(PostgresConnectionSlotTests.FewSlotsHost host) : IClassFixture<PostgresConnectionSlotTests.FewSlotsHost>
{
    [Fact]
    public async Task RequestsThatMeetAFullDatabaseWaitForASlotInsteadOfFailing()
    {
        var http = host.CreateClient();
        var payer = await WalletClient.RegisterAsync(http);
        var payee = await WalletClient.RegisterAsync(http);
        await payer.TopUpAsync(50 * 100);

        // Take every slot the server's role has left, as other processes on the cluster would.
        await using var neighbours = await host.TakeEverySlotAsync();

        var sending = Task.WhenAll(Enumerable.Range(0, 200).Select(_ =>
            payer.PostAsync("/v1/transfers", new { to_user_id = payee.UserId, amount = 100 })));
        // The burst has met the full database (the server says it waits): now the neighbours leave. A server that
        // does not wait has answered by then, and the counts below say how.
        await Poll.UntilAsync(() => Task.FromResult(sending.IsCompleted || host.Logs.Recent(CapturedLogs.EntriesMax).Contains("no free connection slot")),
            "the server to wait for a connection slot");
        await neighbours.DisposeAsync();

        var responses = await sending;
        var statuses = string.Join(", ", responses.GroupBy(r => (int)r.StatusCode).Select(g => $"{g.Key}: {g.Count()}")) + "\n" + host.Logs.Recent();
        responses.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(50, statuses);
        responses.Count(r => r.StatusCode == HttpStatusCode.UnprocessableEntity).ShouldBe(150, statuses);
        (await payer.AvailableAsync()).ShouldBe(0);
        (await payee.AvailableAsync()).ShouldBe(5_000);
    }

    /// <summary>The server connects as a role of its own, limited to <see cref="SlotsMax"/> connections (superusers have no such limit).</summary>
    public sealed class FewSlotsHost() : QianbaoHost(Server.Storage.DatabaseEngine.Postgres)
    {
        public const int SlotsMax = 30;

        public string RoleConnectionString { get; private set; } = "";

        /// <summary>Takes every connection slot the server's role has left, as other processes on the cluster would; disposing gives them back.</summary>
        public async Task<SlotsTaken> TakeEverySlotAsync()
        {
            var taken = new SlotsTaken();
            var neighbour = new NpgsqlConnectionStringBuilder(RoleConnectionString) { Pooling = false }.ConnectionString;
            while (taken.Connections.Count < SlotsMax)
            {
                var connection = new NpgsqlConnection(neighbour);
                try
                {
                    await connection.OpenAsync();
                    taken.Connections.Add(connection);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.TooManyConnections)
                {
                    await connection.DisposeAsync();
                    break;
                }
            }
            return taken;
        }

        protected override IEnumerable<KeyValuePair<string, string?>> Settings()
        {
            var admin = new NpgsqlConnectionStringBuilder(PostgresConnectionString!);
            var role = admin.Database + "_owner";
            using (var connection = new NpgsqlConnection(admin.ConnectionString))
            {
                connection.Open();
                // Owner of the database, so the migrations may create its tables (PostgreSQL 15: public belongs to the owner).
                using var cmd = new NpgsqlCommand(
                    $"CREATE ROLE \"{role}\" LOGIN NOSUPERUSER CONNECTION LIMIT {SlotsMax}; ALTER DATABASE \"{admin.Database}\" OWNER TO \"{role}\"", connection);
                cmd.ExecuteNonQuery();
            }
            RoleConnectionString = new NpgsqlConnectionStringBuilder(admin.ConnectionString) { Username = role }.ConnectionString;
            return [new("ConnectionStrings:Postgres", RoleConnectionString)];
        }
    }

    /// <summary>Connections holding the role's slots; disposing closes them (again is harmless).</summary>
    public sealed class SlotsTaken : IAsyncDisposable
    {
        public List<NpgsqlConnection> Connections { get; } = [];

        public async ValueTask DisposeAsync()
        {
            foreach (var connection in Connections) await connection.DisposeAsync();
            Connections.Clear();
        }
    }
}
