using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;
using Qianbao.Server.Storage.PersonalData;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Identity;

/// <summary>
/// Personal data at rest and the data rights, on a secure server: after a scripted run no phone, name, ID number or
/// licence is in the database file (SQLite, WAL checkpointed) or its dump (PostgreSQL) in clear text; lookups by phone
/// still work; a key rotation re-seals everything under the new key; rows from before sealing are converted at start;
/// the export holds the caller's data and nobody else's; closing erases it while the ledger still balances.
/// </summary>
public abstract class PersonalDataTests<THost>(THost host) : IClassFixture<THost> where THost : SpendSecurityHost
{
    private static int counter;

    private HttpClient Http { get; } = host.CreateClient();

    /// <summary>A unique Chinese name of four characters (nothing else in the run spells it).</summary>
    private static string NewName()
    {
        const string given = "娜娜相如明月清风白云青山绿水春晓秋实冬雪夏荷";
        var n = Interlocked.Increment(ref counter) + Random.Shared.Next(0, 100) * 50;
        return "欧阳" + given[n % given.Length] + given[(n / given.Length + 3) % given.Length];
    }

    [Fact]
    public async Task After_a_scripted_run_no_phone_name_id_number_or_licence_is_in_the_database_in_clear_text()
    {
        var (nameA, nameB) = (NewName(), NewName());
        var (idA, idB) = (SecureUser.NewIdNumber(), SecureUser.NewIdNumber());
        var a = await SecureUser.CreateAsync(Http, host.OperatorKey, nameA, idNumber: idA);
        var b = await SecureUser.CreateAsync(Http, host.OperatorKey, nameB, idNumber: idB);
        await a.TopUpAsync(10_000);
        (await a.PostAsync("/v1/transfers", new { to_phone = b.Phone, amount = 2_500, currency = "CNY" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await a.GetJsonAsync("/v1/recipients?phone=" + b.Phone))["name_masked"]!.GetValue<string>().ShouldNotContain(nameB);
        // A wrong password for an unknown phone is counted under the phone (rate counters), a reset asks a code by phone.
        var stranger = SecureUser.NewPhone();
        (await Http.PostAsJsonAsync("/v1/auth/token", new { phone = stranger, password = "wrong password", device_id = "d1" })).StatusCode
            .ShouldBe(HttpStatusCode.Unauthorized);
        (await Http.PostAsJsonAsync("/v1/verifications", new { phone = a.Phone, purpose = "reset_password" })).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var legal = NewName();
        var licence = CreditCodes.New();
        var merchantPhone = SecureUser.NewPhone();
        var merchant = await OperatorAsync(HttpMethod.Post, "/admin/v1/merchants",
            new { name = "Sealed Shop", licence_no = licence, legal_person = legal, contact_phone = merchantPhone, fee_bps = 60 });
        merchant.StatusCode.ShouldBe(HttpStatusCode.Created, await merchant.Content.ReadAsStringAsync());
        var merchantId = (await merchant.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        // What the API shows is opened from the sealed values.
        var shown = await (await OperatorAsync(HttpMethod.Get, $"/admin/v1/merchants/{merchantId}")).Content.ReadFromJsonAsync<JsonObject>();
        shown!["licence_no"]!.GetValue<string>().ShouldBe(licence);
        shown["legal_person"]!.GetValue<string>().ShouldBe(legal);
        (await OperatorAsync(HttpMethod.Post, "/admin/v1/merchants", new { name = "Again", licence_no = " " + licence.ToLowerInvariant(), legal_person = legal,
            contact_phone = merchantPhone, fee_bps = 60 })).StatusCode.ShouldBe(HttpStatusCode.Conflict, "one licence, one merchant, by its index");
        // Every SMS was delivered to the right phone, opened from the sealed recipient.
        (await SandboxSms.TextsAsync(Http, host.OperatorKey, a.Phone)).Count.ShouldBeGreaterThanOrEqualTo(3);

        var needles = new List<string>();
        foreach (var phone in new[] { a.Phone, b.Phone, stranger, merchantPhone }) needles.AddRange([phone, "+86" + phone]);
        needles.AddRange([nameA, nameB, legal, idA, idB, licence]);
        var image = await DatabaseImageAsync();
        image.Length.ShouldBeGreaterThan(10_000);
        foreach (var needle in needles)
            image.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)).ShouldBe(-1, $"'{needle}' is in the {host.Engine} database in clear text");
        // The check finds what it looks for: the business name is not personal data and stays in clear.
        image.AsSpan().IndexOf("Sealed Shop"u8).ShouldBeGreaterThanOrEqualTo(0);
    }

    [Fact]
    public async Task A_key_rotation_re_seals_every_value_in_bounded_batches_and_lookups_keep_working()
    {
        var users = new List<(SecureUser User, string Name)>();
        for (var i = 0; i < 3; i++)
        {
            var name = NewName();
            users.Add((await SecureUser.CreateAsync(Http, host.OperatorKey, name), name));
        }
        (await OperatorAsync(HttpMethod.Post, "/admin/v1/merchants", new { name = "Rotating Shop", credit_code = CreditCodes.New(),
            legal_person = NewName(), contact_phone = SecureUser.NewPhone(), fee_bps = 60 })).StatusCode.ShouldBe(HttpStatusCode.Created);
        // A self-service signup: the legal person's ID number (merchants.legal_person_id_enc) and a staff e-mail (merchant_staff).
        await MerchantAccounts.SignupAsync(Http, host.OperatorKey, relaxed: false, legalPerson: NewName());
        // E-mail addresses: one verified (email_enc), one awaiting its code (pending_email_enc).
        await SetEmailAsync(users[0].User, "rotate0@example.com", verify: true);
        await SetEmailAsync(users[1].User, "rotate1@example.com", verify: false);

        // The operator adds k2 in front of the generated key: a ring of (k2, k1), a small batch to make the pass page.
        DataKeyRing.TryParseKeys(await File.ReadAllTextAsync(Path.Combine(host.DataDir, DataKeyRing.DataKeysFile)), out var current).ShouldBeNull();
        var indexKey = DataKeyRing.TryKey(await File.ReadAllTextAsync(Path.Combine(host.DataDir, DataKeyRing.IndexKeyFile)))!;
        var k2 = new DataKey("k2", System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var rotated = new PersonalDataProtector(new DataKeyRing([k2, .. current], indexKey));
        var db = host.Services.GetRequiredService<Db>();
        var tables = host.Services.GetServices<SealedTable>().ToList();
        tables.Select(t => t.Table).ShouldBe(["outbound_messages", "user_emails", "users", "merchants", "merchant_staff"], ignoreOrder: true);
        var pass = new DataKeyRotation(db, rotated, tables, new SecurityOptions { ReencryptBatchMax = 2 }, NullLogger<DataKeyRotation>.Instance);

        var result = await pass.RunAsync(CancellationToken.None);
        result.Unreadable.ShouldBe(0);
        result.Rewritten.ShouldBeGreaterThanOrEqualTo(3 * 4 + 3);
        foreach (var table in tables)
            foreach (var column in table.Columns)
            {
                (await CountAsync($"SELECT count(*) FROM {table.Table} WHERE {column} LIKE 'v1.%' AND {column} NOT LIKE 'v1.k2.%'")).ShouldBe(0, $"{table.Table}.{column}");
                (await CountAsync($"SELECT count(*) FROM {table.Table} WHERE {column} LIKE 'v1.k2.%'")).ShouldBeGreaterThan(0, $"{table.Table}.{column}");
            }
        (await pass.RunAsync(CancellationToken.None)).Rewritten.ShouldBe(0, "a second pass finds nothing left");

        // Only k2 is needed now; the index did not change, so a phone still finds its row.
        var onlyK2 = new PersonalDataProtector(new DataKeyRing([k2], indexKey));
        foreach (var (user, name) in users)
        {
            var row = await QueryRowAsync("SELECT name, phone FROM users WHERE id = @id", new { id = user.UserId });
            onlyK2.Open(row.Name, new SealedField("users", "name", user.UserId)).ShouldBe(name);
            row.Phone.ShouldBe(onlyK2.Index(IndexKind.Phone, "+86" + user.Phone));
        }
    }

    /// <summary>PUT /v1/me/email, and with <paramref name="verify"/> the code read from the sandbox mail.</summary>
    private async Task SetEmailAsync(SecureUser user, string email, bool verify)
    {
        var put = await user.SendAsync(HttpMethod.Put, "/v1/me/email", new { email }, pin: null);
        put.StatusCode.ShouldBe(HttpStatusCode.Accepted, await put.Content.ReadAsStringAsync());
        if (!verify) return;
        var listed = await (await OperatorAsync(HttpMethod.Get, $"/admin/v1/sandbox/messages?to={Uri.EscapeDataString(email)}")).Content.ReadFromJsonAsync<JsonObject>();
        var code = System.Text.RegularExpressions.Regex.Match(listed!["items"]![0]!["text"]!.GetValue<string>(), @"\b(\d{6})\b").Groups[1].Value;
        var verified = await user.SendAsync(HttpMethod.Post, "/v1/me/email/verify", new { code }, pin: null);
        verified.StatusCode.ShouldBe(HttpStatusCode.OK, await verified.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Rows_written_before_sealing_are_converted_at_start_and_their_phone_logs_in()
    {
        var phone = "+86" + SecureUser.NewPhone();
        var name = NewName();
        var id = Guid.CreateVersion7();
        var hash = host.Services.GetRequiredService<PasswordHasher>().Hash(SecureUser.Password);
        await host.ExecuteAsync("INSERT INTO users (id, phone, name, password_hash, created_at_us) VALUES (@id, @phone, @name, @hash, 1)",
            new { id, phone, name, hash });
        await host.ExecuteAsync("""
            INSERT INTO outbound_messages (id, channel, recipient, template, locale, text, status, attempts, next_attempt_at_us, created_at_us)
            VALUES (@id, 1, @phone, 'password_changed', 'zh-CN', 'old', 2, 1, 1, 1)
            """, new { id = Guid.CreateVersion7(), phone });

        var merchantId = Guid.CreateVersion7();
        var legal = NewName();
        var licence = "LIC-" + Guid.NewGuid().ToString("N");
        await host.ExecuteAsync("""
            INSERT INTO merchants (id, name, licence_no, legal_person, contact_phone, fee_bps, status, created_at_us)
            VALUES (@merchantId, 'Old Shop', @licence, @legal, @phone, 60, 'pending', 1)
            """, new { merchantId, licence, legal, phone });

        await PlaintextUpgrades.RunAsync(host.Services, NullLogger.Instance, CancellationToken.None);

        (await CountAsync("SELECT count(*) FROM merchants WHERE licence_enc IS NULL")).ShouldBe(0);
        var shown = await (await OperatorAsync(HttpMethod.Get, $"/admin/v1/merchants/{merchantId}")).Content.ReadFromJsonAsync<JsonObject>();
        shown!["licence_no"]!.GetValue<string>().ShouldBe(licence);
        shown["legal_person"]!.GetValue<string>().ShouldBe(legal);

        (await CountAsync("SELECT count(*) FROM users WHERE phone LIKE '+%'")).ShouldBe(0);
        (await CountAsync("SELECT count(*) FROM outbound_messages WHERE recipient LIKE '+%'")).ShouldBe(0);
        var row = await QueryRowAsync("SELECT name, phone FROM users WHERE id = @id", new { id });
        row.Name.ShouldStartWith("v1.");
        row.Phone.ShouldNotContain(phone[3..]);
        var (access, _) = await SecureUser.LoginAsync(Http, host.OperatorKey, phone, SecureUser.Password, "device-legacy");
        var me = await GetJsonAsync(access, "/v1/me");
        me["id"]!.GetValue<Guid>().ShouldBe(id);
        me["phone_masked"]!.GetValue<string>().ShouldBe(phone[3..6] + "****" + phone[^4..]);
    }

    [Fact]
    public async Task The_export_holds_the_callers_data_and_nobody_elses()
    {
        var (nameA, nameB) = (NewName(), NewName());
        var a = await SecureUser.CreateAsync(Http, host.OperatorKey, nameA);
        var b = await SecureUser.CreateAsync(Http, host.OperatorKey, nameB);
        await a.TopUpAsync(5_000);
        (await a.PostAsync("/v1/transfers", new { to_user_id = b.UserId, amount = 1_200, currency = "CNY" })).StatusCode.ShouldBe(HttpStatusCode.Created);

        var response = await a.SendAsync(HttpMethod.Get, "/v1/me/export", pin: null);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        response.Headers.CacheControl!.NoStore.ShouldBeTrue();
        var export = JsonNode.Parse(text)!.AsObject();
        export["format"]!.GetValue<string>().ShouldBe("qianbao-personal-data/1");
        export["user_id"]!.GetValue<Guid>().ShouldBe(a.UserId);
        export["profile"]!["phone"]!.GetValue<string>().ShouldBe("+86" + a.Phone);
        export["profile"]!["name"]!.GetValue<string>().ShouldBe(nameA);
        export["identity"]!["id_number_masked"]!.GetValue<string>().ShouldContain("****");
        export["devices"]!.AsArray().Select(d => d!["device_id"]!.GetValue<string>()).ShouldContain(a.DeviceId);
        export["sessions"]!.AsArray().ShouldNotBeEmpty();
        export["security_events"]!.AsArray().Select(e => e!["kind"]!.GetValue<string>()).ShouldContain("identity_verified");
        export["messages"]!.AsArray().Select(m => m!["template"]!.GetValue<string>()).ShouldContain("verification_code");
        var transactions = export["transactions"]!.AsArray();
        transactions.Select(t => t!["type"]!.GetValue<string>()).ShouldBe(["topup", "transfer"]);
        transactions[1]!["counterparty"]!["user_id"]!.GetValue<Guid>().ShouldBe(b.UserId);
        foreach (var section in new[] { "notification_preferences", "consents", "complaints", "bank_cards" })
            export[section].ShouldBeOfType<JsonArray>(section);

        // Compared unescaped: the answer escapes CJK characters as \uXXXX.
        text = export.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        text.ShouldContain(nameA);
        text.ShouldNotContain(b.Phone, Case.Sensitive, "another person's phone");
        text.ShouldNotContain(nameB, Case.Sensitive, "another person's name (only masked)");
        text.ShouldContain(nameB[^1..]);
    }

    [Fact]
    public async Task Closing_needs_zero_balances_then_erases_the_person_while_the_ledger_still_balances_and_the_phone_registers_again()
    {
        var name = NewName();
        var user = await SecureUser.CreateAsync(Http, host.OperatorKey, name);
        var friend = await SecureUser.CreateAsync(Http, host.OperatorKey, NewName());
        await user.TopUpAsync(3_000);

        (await CloseAsync(user, "wrong password")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await CloseAsync(user, null)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var refused = await CloseAsync(user, SecureUser.Password);
        var problem = await refused.Content.ReadFromJsonAsync<JsonObject>();
        refused.StatusCode.ShouldBe(HttpStatusCode.Conflict, problem!.ToJsonString());
        problem["code"]!.GetValue<string>().ShouldBe("balance_not_zero");
        problem["balances"]![0]!["balance"]!.GetValue<long>().ShouldBe(3_000);
        (await user.GetJsonAsync("/v1/me"))["id"]!.GetValue<Guid>().ShouldBe(user.UserId, "a refusal changes nothing");
        (await friend.GetJsonAsync("/v1/recipients?phone=" + user.Phone))["user_id"]!.GetValue<Guid>().ShouldBe(user.UserId);

        (await user.PostAsync("/v1/transfers", new { to_user_id = friend.UserId, amount = 3_000, currency = "CNY" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        // The friend's history shows the name masked; read twice, the second from the server's memory of names (PostgreSQL, while
        // its LISTEN for name changes is in place; SQLite reads every time).
        var names = host.Services.GetRequiredService<MaskedNameCache>();
        if (host.Engine == DatabaseEngine.Postgres) await Poll.UntilAsync(() => Task.FromResult(names.Live), "the LISTEN for name changes", 10_000);
        for (var i = 0; i < 2; i++) CounterpartyName(await friend.GetJsonAsync("/v1/transactions"), user.UserId).ShouldBe(Masks.Name(name));
        if (host.Engine == DatabaseEngine.Postgres) names.TryGet(user.UserId, out _).ShouldBeTrue("the name is kept in memory");
        else names.Live.ShouldBeFalse();
        (await CloseAsync(user, SecureUser.Password)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        // Signed out everywhere, cannot log in, cannot be found or paid.
        (await user.SendAsync(HttpMethod.Get, "/v1/me", pin: null)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await Http.PostAsJsonAsync("/v1/auth/token", new { phone = user.Phone, password = SecureUser.Password, device_id = user.DeviceId })).StatusCode
            .ShouldBe(HttpStatusCode.Unauthorized);
        (await friend.SendAsync(HttpMethod.Get, "/v1/recipients?phone=" + user.Phone, pin: null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await friend.PostAsync("/v1/transfers", new { to_user_id = user.UserId, amount = 100, currency = "CNY" })).StatusCode.ShouldBe(HttpStatusCode.UnprocessableEntity);

        // The row keeps only what the ledger needs; the ledger is intact.
        var row = await QueryRowAsync("SELECT name, phone FROM users WHERE id = @id", new { id = user.UserId });
        row.Name.ShouldBeEmpty();
        row.Phone.ShouldBe("closed:" + user.UserId.ToString("N"));
        (await CountAsync($"SELECT count(*) FROM users WHERE id = '{user.UserId}' AND (phone_enc IS NOT NULL OR identity_name IS NOT NULL OR identity_number_enc IS NOT NULL OR identity_number_hash IS NOT NULL)"))
            .ShouldBe(0);
        (await CountAsync($"SELECT count(*) FROM devices WHERE user_id = '{user.UserId}'")).ShouldBe(0);
        var check = await OperatorAsync(HttpMethod.Get, "/admin/v1/ledger/check");
        var body = await check.Content.ReadAsStringAsync();
        check.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        JsonNode.Parse(body)!["ok"]!.GetValue<bool>().ShouldBeTrue(body);
        var history = await friend.GetJsonAsync("/v1/transactions");
        history["items"]!.AsArray().ShouldContain(i => i!["amount"]!.GetValue<long>() == 3_000);
        CounterpartyName(history, user.UserId).ShouldBe("*", "the erased name, not the one kept in memory before the account closed");

        // The phone is free again (after the resend interval of its earlier register code).
        host.Clock.Advance(TimeSpan.FromMinutes(2));
        var (verificationId, code) = await SandboxSms.VerifyAsync(Http, host.OperatorKey, user.Phone, "register");
        var again = await Http.PostAsJsonAsync("/v1/users", new { phone = user.Phone, password = SecureUser.Password, name = "新人", verification_id = verificationId, code });
        again.StatusCode.ShouldBe(HttpStatusCode.Created, await again.Content.ReadAsStringAsync());
        (await again.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>().ShouldNotBe(user.UserId);
    }

    private static string CounterpartyName(JsonObject history, Guid userId) =>
        history["items"]!.AsArray().Single(i => i!["counterparty"]?["user_id"]?.GetValue<Guid>() == userId)!["counterparty"]!["name_masked"]!.GetValue<string>();

    private Task<HttpResponseMessage> CloseAsync(SecureUser user, string? password)
    {
        var request = new HttpRequestMessage(HttpMethod.Delete, "/v1/me") { Content = JsonContent.Create(new { password }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
        return Http.SendAsync(request);
    }

    private async Task<JsonObject> GetJsonAsync(string access, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", access);
        var response = await Http.SendAsync(request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private Task<HttpResponseMessage> OperatorAsync(HttpMethod method, string path, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.OperatorKey);
        return Http.SendAsync(request);
    }

    private async Task<long> CountAsync(string sql) => await host.ScalarAsync<long>(sql);

    private async Task<(string Name, string Phone)> QueryRowAsync(string sql, object parameters)
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        return await connection.QuerySingleAsync<(string Name, string Phone)>(sql, parameters);
    }

    /// <summary>The bytes a thief of the database would hold: the SQLite file and its WAL (checkpointed), or a pg_dump.</summary>
    private async Task<byte[]> DatabaseImageAsync()
    {
        if (host.Engine == DatabaseEngine.Sqlite)
        {
            await using (var connection = await host.Services.GetRequiredService<Db>().OpenAsync())
                await connection.ExecuteAsync("PRAGMA wal_checkpoint(TRUNCATE)");
            var image = new MemoryStream();
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                var path = Path.Combine(host.DataDir, "qianbao.db" + suffix);
                if (!File.Exists(path)) continue;
                await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                await file.CopyToAsync(image);
            }
            return image.ToArray();
        }
        var builder = new NpgsqlConnectionStringBuilder(host.PostgresConnectionString);
        var start = new ProcessStartInfo(Path.Combine(PostgresCluster.Shared.BinDirectory, "pg_dump"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[] { "-h", builder.Host!, "-p", builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", builder.Username!,
                     "-d", builder.Database!, "--no-owner" })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var dump = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(dump);
        var errors = process.StandardError.ReadToEndAsync();
        await copy;
        await process.WaitForExitAsync();
        process.ExitCode.ShouldBe(0, await errors);
        return dump.ToArray();
    }
}

public sealed class SqlitePersonalDataTests(PinSqliteHost host) : PersonalDataTests<PinSqliteHost>(host);

public sealed class PostgresPersonalDataTests(PinPostgresHost host) : PersonalDataTests<PinPostgresHost>(host);
