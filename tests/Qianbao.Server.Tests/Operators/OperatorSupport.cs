using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Npgsql;
using OtpNet;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Operators;

/// <summary>An operator account set up the way the README says: invited by the bootstrap owner, invitation accepted, logged in with TOTP.</summary>
public sealed record TestOperator(Guid Id, string Email, string Password, string TotpSecret, string Role, string AccessToken);

public static class OperatorSupport
{
    public const string Password = "operator password 1";
    private static int counter;

    public static string NewEmail(string role) => $"{role}-{Interlocked.Increment(ref counter)}-{Guid.NewGuid():N}"[..30] + "@qianbao.example";

    /// <summary>The code an authenticator shows for <paramref name="secret"/> at <paramref name="at"/>.</summary>
    public static string Code(string secret, DateTimeOffset at) => new Totp(Base32Encoding.ToBytes(secret), 30, OtpHashMode.Sha1, 6).ComputeTotp(at.UtcDateTime);

    /// <summary>Invites (as the bootstrap key), accepts and logs in an operator of <paramref name="role"/>.</summary>
    public static async Task<TestOperator> CreateAsync(SecureHost host, HttpClient http, string role)
    {
        var email = NewEmail(role);
        var invited = await SendAsync(http, HttpMethod.Post, "/admin/v1/operators", host.OperatorKey, new { email, name = "Operator " + role, role });
        invited.StatusCode.ShouldBe(HttpStatusCode.Created, await invited.Content.ReadAsStringAsync());
        var body = (await invited.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = body["id"]!.GetValue<Guid>();
        var secret = await AcceptAsync(http, body["invitation_token"]!.GetValue<string>(), Password);
        var token = await LoginAsync(http, email, Password, Code(secret, host.Clock.GetUtcNow()));
        return new TestOperator(id, email, Password, secret, role, token);
    }

    public static async Task<string> AcceptAsync(HttpClient http, string invitationToken, string password)
    {
        var accepted = await http.PostAsJsonAsync($"/admin/v1/operators/invitations/{invitationToken}/accept", new { password });
        accepted.StatusCode.ShouldBe(HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync());
        var body = (await accepted.Content.ReadFromJsonAsync<JsonObject>())!;
        body["otpauth_uri"]!.GetValue<string>().ShouldStartWith("otpauth://totp/");
        return body["totp_secret"]!.GetValue<string>();
    }

    public static async Task<string> LoginAsync(HttpClient http, string email, string password, string totp)
    {
        var response = await http.PostAsJsonAsync("/admin/v1/auth/token", new { email, password, totp });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        body["expires_in"]!.GetValue<long>().ShouldBeGreaterThan(0);
        return body["access_token"]!.GetValue<string>();
    }

    public static Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string? bearer, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        if (method == HttpMethod.Post) request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        return http.SendAsync(request);
    }

    public static async Task<JsonObject> JsonAsync(this Task<HttpResponseMessage> sending, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await sending;
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(expected, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>
    /// Runs SQL on the host's database as someone with direct access would, around the application: on PostgreSQL as the
    /// superuser with <c>session_replication_role = replica</c> (ordinary triggers off, the append-only one included), on
    /// SQLite with the append-only triggers dropped and put back in the same transaction.
    /// </summary>
    public static async Task<int> TamperAsync(QianbaoHost host, string sql)
    {
        if (host.Engine == DatabaseEngine.Postgres)
        {
            var builder = new NpgsqlConnectionStringBuilder(host.PostgresConnectionString) { Pooling = false };
            await using var pg = new NpgsqlConnection(builder.ConnectionString);
            await pg.OpenAsync();
            await using var command = new NpgsqlCommand("SET session_replication_role = replica; " + sql, pg);
            return await command.ExecuteNonQueryAsync();
        }
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(host.DataDir, "qianbao.db"), Pooling = false, DefaultTimeout = 30,
        }.ConnectionString);
        await connection.OpenAsync();
        await using var tx = connection.BeginTransaction();
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;";
        await cmd.ExecuteNonQueryAsync();
        cmd.CommandText = sql;
        var changed = await cmd.ExecuteNonQueryAsync();
        cmd.CommandText = """
            CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            """;
        await cmd.ExecuteNonQueryAsync();
        await tx.CommitAsync();
        return changed;
    }

    /// <summary>Runs SQL as the application's own database user would (triggers in force); the exception it raised, if any.</summary>
    public static async Task<Exception?> TryDirectAsync(QianbaoHost host, string sql)
    {
        try
        {
            if (host.Engine == DatabaseEngine.Postgres)
            {
                var builder = new NpgsqlConnectionStringBuilder(host.PostgresConnectionString) { Pooling = false };
                await using var pg = new NpgsqlConnection(builder.ConnectionString);
                await pg.OpenAsync();
                await using var command = new NpgsqlCommand(sql, pg);
                await command.ExecuteNonQueryAsync();
            }
            else
            {
                await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
                {
                    DataSource = Path.Combine(host.DataDir, "qianbao.db"), Pooling = false, DefaultTimeout = 30,
                }.ConnectionString);
                await connection.OpenAsync();
                await using var cmd = connection.CreateCommand();
                cmd.CommandText = sql;
                await cmd.ExecuteNonQueryAsync();
            }
            return null;
        }
        catch (Exception e) when (e is NpgsqlException or SqliteException)
        {
            return e;
        }
    }
}
