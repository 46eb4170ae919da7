using Npgsql;
using Xunit.Abstractions;

namespace Qianbao.Server.Tests.Infrastructure;

public sealed class PostgresClusterTests(ITestOutputHelper output)
{
    private static readonly PostgresCluster Cluster = PostgresCluster.Shared;

    [Fact]
    public async Task Start_is_shared_and_reports_its_duration()
    {
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Cluster.StartAsync()));

        output.WriteLine($"PostgreSQL cluster from {Cluster.BinDirectory} on port {Cluster.Port} " +
                         $"started in {Cluster.StartDuration.TotalMilliseconds:0} ms");
        Cluster.StartDuration.ShouldBeGreaterThan(TimeSpan.Zero);
        Cluster.AdminConnectionString.ShouldContain(Cluster.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Insert_then_select_round_trips()
    {
        string connectionString = await Cluster.CreateDatabaseAsync(nameof(PostgresClusterTests));

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE account (id bigint PRIMARY KEY, balance bigint NOT NULL)");
        await ExecuteAsync(connection, "INSERT INTO account VALUES (1, 100), (2, 9223372036854775807)");

        await using var command = new NpgsqlCommand("SELECT id, balance FROM account ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(long Id, long Balance)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt64(0), reader.GetInt64(1)));
        }

        rows.ShouldBe([(1L, 100L), (2L, long.MaxValue)]);
    }

    [Fact]
    public async Task Two_databases_are_independent()
    {
        string first = await Cluster.CreateDatabaseAsync("independent");
        string second = await Cluster.CreateDatabaseAsync("independent");

        new NpgsqlConnectionStringBuilder(first).Database
            .ShouldNotBe(new NpgsqlConnectionStringBuilder(second).Database);

        await using var a = new NpgsqlConnection(first);
        await using var b = new NpgsqlConnection(second);
        await a.OpenAsync();
        await b.OpenAsync();

        await ExecuteAsync(a, "CREATE TABLE t (v int)");
        await ExecuteAsync(a, "INSERT INTO t VALUES (1)");

        // The table created in the first database does not exist in the second...
        (await ScalarAsync<bool>(b, "SELECT to_regclass('public.t') IS NULL")).ShouldBeTrue();

        // ...which can create its own table of the same name with different contents.
        await ExecuteAsync(b, "CREATE TABLE t (v int)");
        await ExecuteAsync(b, "INSERT INTO t VALUES (2), (3)");

        (await ScalarAsync<long>(a, "SELECT count(*) FROM t")).ShouldBe(1);
        (await ScalarAsync<long>(b, "SELECT count(*) FROM t")).ShouldBe(2);
    }

    [Theory]
    [InlineData("synchronous_commit", "on")]
    [InlineData("fsync", "on")]
    [InlineData("max_connections", "300")]
    [InlineData("shared_buffers", "256MB")]
    [InlineData("listen_addresses", "127.0.0.1")]
    [InlineData("server_encoding", "UTF8")]
    public async Task Server_uses_test_settings(string setting, string expected)
    {
        string connectionString = await Cluster.CreateDatabaseAsync("settings");

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        (await ScalarAsync<string>(connection, $"SHOW {setting}")).ShouldBe(expected);
    }

    [Fact]
    public async Task Server_is_a_dedicated_loopback_instance_of_postgres_15_or_later()
    {
        string connectionString = await Cluster.CreateDatabaseAsync("loopback");

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        (await ScalarAsync<string>(connection, "SELECT host(inet_server_addr())")).ShouldBe("127.0.0.1");
        (await ScalarAsync<int>(connection, "SELECT inet_server_port()")).ShouldBe(Cluster.Port);
        (await ScalarAsync<int>(connection, "SHOW server_version_num")).ShouldBeGreaterThanOrEqualTo(150000);
        (await ScalarAsync<string>(connection, "SELECT current_setting('data_directory')"))
            .ShouldContain("qianbao-pg-");
    }

    [Theory]
    [InlineData("Qianbao.Server.Tests+Some Class", "qianbao_server_tests_some_class_7")]
    [InlineData("", "db__7")]
    [InlineData("123abc", "db_123abc_7")]
    public void Database_names_are_sanitised(string prefix, string expected) =>
        PostgresCluster.MakeDatabaseName(prefix, 7).ShouldBe(expected);

    [Fact]
    public void Database_names_fit_the_postgres_identifier_limit()
    {
        string name = PostgresCluster.MakeDatabaseName(new string('x', 200), int.MaxValue);

        name.Length.ShouldBe(63);
        name.ShouldEndWith("_2147483647");
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        object? value = await command.ExecuteScalarAsync();
        return typeof(T) == typeof(object)
            ? (T)value!
            : (T)Convert.ChangeType(value!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }
}
