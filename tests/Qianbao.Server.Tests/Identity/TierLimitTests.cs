using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Identity;

/// <summary>A secure server without the new-device step-up (so a fresh login may spend) and with long-lived tokens (so the clock may move days).</summary>
public abstract class LimitsHost(DatabaseEngine engine) : SecureHost(engine)
{
    protected override IEnumerable<KeyValuePair<string, string?>> SecureSettings() =>
    [
        new("Qianbao:Security:NewDeviceStepUpHours", "0"),
        new("Qianbao:Auth:TokenLifetimeMinutes", "43200"),
        new("Qianbao:Sandbox:ConfirmDelayMs", "10"),
    ];
}

public sealed class LimitsSqliteHost() : LimitsHost(DatabaseEngine.Sqlite);

public sealed class LimitsPostgresHost() : LimitsHost(DatabaseEngine.Postgres);

/// <summary>
/// Item 6 of account security: real-name identity, bank cards, tiers, and the tier limits the ledger enforces. Amounts stay
/// below the step-up threshold, and money requests carry the PIN header, so the other checks of the gate do not interfere.
/// </summary>
public abstract class TierLimitTests<THost>(THost host) : IClassFixture<THost> where THost : LimitsHost
{
    private readonly HttpClient http = host.CreateClient();

    private Task<SecureUser> UserAsync(bool verified = true, string name = "李磊") =>
        SecureUser.CreateAsync(http, host.OperatorKey, name, verifyIdentity: verified);

    private Task<HttpResponseMessage> OperatorAsync(HttpMethod method, string path, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.OperatorKey);
        if (body is not null) request.Content = JsonContent.Create(body);
        return http.SendAsync(request);
    }

    private async Task<JsonObject> LimitAsync(SecureUser user, string period)
    {
        var limits = await user.GetJsonAsync("/v1/me/limits");
        return limits["limits"]!.AsArray().Single(l => l!["period"]!.GetValue<string>() == period)!.AsObject();
    }

    private async Task AssertLedgerOkAsync()
    {
        using var response = await OperatorAsync(HttpMethod.Get, "/admin/v1/ledger/check");
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        JsonNode.Parse(body)!["ok"]!.GetValue<bool>().ShouldBeTrue(body);
    }

    private async Task<long> CountAsync(string sql, object parameters)
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        return await connection.ExecuteScalarAsync<long>(sql, parameters);
    }

    private Task<HttpResponseMessage> SendAsync(SecureUser from, SecureUser to, long amount, string? key = null) =>
        from.PostAsync("/v1/transfers", new { to_user_id = to.UserId, amount, currency = "CNY" }, idempotencyKey: key);

    private static async Task ShouldBeLimitAsync(HttpResponseMessage response, string period, long remaining)
    {
        var text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBe(422, text);
        var body = JsonNode.Parse(text)!;
        body["code"]!.GetValue<string>().ShouldBe("limit_exceeded", text);
        body["limit"]!.GetValue<string>().ShouldBe(period, text);
        body["remaining"]!.GetValue<long>().ShouldBe(remaining, text);
    }

    private async Task<SecureUser> ReloginAsync(SecureUser user)
    {
        var (access, refresh) = await SecureUser.LoginAsync(http, host.OperatorKey, user.Phone, SecureUser.Password, user.DeviceId);
        user.UseTokens(access, refresh);
        return user;
    }

    [Fact]
    public async Task Verifying_an_identity_makes_the_account_class_i_once()
    {
        var user = await UserAsync(verified: false);
        (await user.GetJsonAsync("/v1/me/limits"))["tier"]!.GetValue<string>().ShouldBe("unverified");
        var id = SecureUser.NewIdNumber();
        using (var verified = await user.PostAsync("/v1/me/identity", new { name = "李磊", id_number = id.ToLowerInvariant() }))
        {
            verified.StatusCode.ShouldBe(HttpStatusCode.OK, await verified.Content.ReadAsStringAsync());
            var body = (await verified.Content.ReadFromJsonAsync<JsonObject>())!;
            body["tier"]!.GetValue<string>().ShouldBe("class_i");
            body["name_masked"]!.GetValue<string>().ShouldBe("*磊");
            body["id_number_masked"]!.GetValue<string>().ShouldBe(id[0] + new string('*', 16) + id[^1]);
        }
        // The same identity again is the same answer, and records nothing twice.
        (await user.PostAsync("/v1/me/identity", new { name = "李磊", id_number = id })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await CountAsync("SELECT COUNT(*) FROM security_events WHERE user_id = @u AND kind = 'identity_verified'", new { u = user.UserId })).ShouldBe(1);
        // Another identity does not replace it; another account cannot take it.
        await (await user.PostAsync("/v1/me/identity", new { name = "李磊", id_number = SecureUser.NewIdNumber() }))
            .ShouldBeProblemAsync(409, "identity_already_verified");
        var other = await UserAsync(verified: false);
        await (await other.PostAsync("/v1/me/identity", new { name = "李磊", id_number = id })).ShouldBeProblemAsync(409, "identity_taken");
        (await other.GetJsonAsync("/v1/me/limits"))["tier"]!.GetValue<string>().ShouldBe("unverified");

        var limits = await user.GetJsonAsync("/v1/me/limits");
        limits["tier"]!.GetValue<string>().ShouldBe("class_i");
        (await LimitAsync(user, "daily"))["max"]!.GetValue<long>().ShouldBe(100_000);
        (await LimitAsync(user, "total"))["remaining"]!.GetValue<long>().ShouldBe(100_000);
    }

    [Fact]
    public async Task Bad_identities_are_refused_and_change_nothing()
    {
        var user = await UserAsync(verified: false);
        var good = SecureUser.NewIdNumber();
        var wrongCheck = good[..17] + (good[17] == '0' ? '1' : '0');
        var tooYoung = SecureUser.NewIdNumber(DateOnly.FromDateTime(DateTime.UtcNow).AddYears(-15).ToString("yyyyMMdd"));
        foreach (var (name, id, code) in new (string?, string?, string)[]
        {
            ("李磊", wrongCheck, "invalid_id_number"),
            ("李磊", "11010519490230002X", "invalid_id_number"),
            ("李磊", "99" + good[2..], "invalid_id_number"),
            ("李磊", tooYoung, "invalid_id_number"),
            ("李磊", null, "invalid_id_number"),
            ("李磊", "123", "invalid_id_number"),
            ("李磊", new string('1', 5000), "invalid_id_number"),
            (null, good, "invalid_name"),
            ("李", good, "invalid_name"),
            ("李磊1", good, "invalid_name"),
            ("  ", good, "invalid_name"),
            (new string('李', 65), good, "invalid_name"),
        })
            await (await user.PostAsync("/v1/me/identity", new { name, id_number = id })).ShouldBeProblemAsync(400, code);

        foreach (var raw in new[] { "", "[]", "{", "{\"name\": 1, \"id_number\": 2}", "null", "\"x\"" })
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/me/identity") { Content = new StringContent(raw, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
            using var response = await http.SendAsync(request);
            ((int)response.StatusCode).ShouldBeInRange(400, 499, raw + " → " + await response.Content.ReadAsStringAsync());
        }
        (await user.GetJsonAsync("/v1/me/limits"))["tier"]!.GetValue<string>().ShouldBe("unverified");
        (await http.PostAsJsonAsync("/v1/me/identity", new { name = "李磊", id_number = good })).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task An_unverified_account_may_not_move_money_nor_be_sent_to()
    {
        var unverified = await UserAsync(verified: false);
        var verified = await UserAsync();
        await verified.TopUpAsync(10_000);

        await (await unverified.PostAsync("/v1/topups", new { amount = 1_000, currency = "CNY" })).ShouldBeProblemAsync(403, "identity_required");
        await (await unverified.PostAsync("/v1/transfers", new { to_user_id = verified.UserId, amount = 100, currency = "CNY" })).ShouldBeProblemAsync(403, "identity_required");
        await (await unverified.PostAsync("/v1/withdrawals", new { amount = 100, currency = "CNY" })).ShouldBeProblemAsync(403, "identity_required");
        await (await unverified.PostAsync("/v1/payment-codes", new { })).ShouldBeProblemAsync(403, "identity_required");
        await (await unverified.PostAsync("/v1/qr-payments", new { qr_code = "https://qr.example/nothing" })).ShouldBeProblemAsync(404, "not_found");

        await (await SendAsync(verified, unverified, 100)).ShouldBeProblemAsync(422, "recipient_not_verified");
        (await verified.AvailableAsync()).ShouldBe(10_000);
        (await unverified.AvailableAsync()).ShouldBe(0);
        (await LimitAsync(verified, "total"))["used"]!.GetValue<long>().ShouldBe(0);

        // Once verified, both work.
        await unverified.VerifyIdentityAsync("王芳", SecureUser.NewIdNumber());
        (await SendAsync(verified, unverified, 100)).StatusCode.ShouldBe(HttpStatusCode.Created);
        await AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Twenty_concurrent_transfers_of_100_yuan_against_1000_remaining_let_exactly_ten_through()
    {
        var payer = await UserAsync();
        var payee = await UserAsync(name: "韩梅梅");
        await payer.TopUpAsync(300_000); // top-ups do not count

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => SendAsync(payer, payee, 10_000)));
        var statuses = responses.Select(r => (int)r.StatusCode).ToArray();
        statuses.Count(s => s == 201).ShouldBe(10, string.Join(",", statuses));
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            var body = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
            body["code"]!.GetValue<string>().ShouldBe("limit_exceeded");
            body["remaining"]!.GetValue<long>().ShouldBe(0);
        }
        (await payer.AvailableAsync()).ShouldBe(200_000);
        (await payee.AvailableAsync()).ShouldBe(100_000);
        var daily = await LimitAsync(payer, "daily");
        daily["used"]!.GetValue<long>().ShouldBe(100_000);
        daily["remaining"]!.GetValue<long>().ShouldBe(0);
        (await LimitAsync(payer, "total"))["used"]!.GetValue<long>().ShouldBe(100_000);
        // Incoming money does not count against the payee.
        (await LimitAsync(payee, "total"))["used"]!.GetValue<long>().ShouldBe(0);
        // History shows the transfers only, never the limit movements.
        var history = await payer.GetJsonAsync("/v1/transactions?limit=100");
        history["items"]!.AsArray().Select(i => i!["type"]!.GetValue<string>()).Distinct().Order().ShouldBe(["topup", "transfer"]);
        await AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Two_peoples_limit_usage_credits_each_ones_own_control_account_so_their_payments_share_no_account()
    {
        var first = await UserAsync();
        var second = await UserAsync(name: "王芳");
        var payee = await UserAsync(name: "韩梅梅");
        foreach (var payer in new[] { first, second })
        {
            await payer.TopUpAsync(50_000);
            (await SendAsync(payer, payee, 1_000)).StatusCode.ShouldBe(HttpStatusCode.Created);
            (await SendAsync(payer, payee, 2_000)).StatusCode.ShouldBe(HttpStatusCode.Created);
        }

        const string Usage = "FROM transfers t JOIN accounts d ON d.id = t.debit_account_id JOIN accounts c ON c.id = t.credit_account_id "
            + "WHERE t.code = @usage AND d.owner_id IN (@first, @second)";
        var parameters = new { usage = (int)Qianbao.Server.Money.TransferCodes.LimitUsage, control = (int)Qianbao.Server.Money.AccountCodes.LimitControl, first = first.UserId, second = second.UserId };
        // One control account per payer, each the payer's own, and nothing else credited by usage (the shared account only funds grants).
        (await CountAsync($"SELECT COUNT(DISTINCT t.credit_account_id) {Usage}", parameters)).ShouldBe(2);
        (await CountAsync($"SELECT COUNT(*) {Usage} AND (c.owner_id IS NULL OR c.owner_id <> d.owner_id OR c.code <> @control)", parameters)).ShouldBe(0);
        // Class I counts three periods (daily, year, total): each control account holds its payer's 3,000 three times.
        (await CountAsync($"SELECT COALESCE(SUM(t.amount), 0) {Usage} AND d.owner_id = @first", parameters)).ShouldBe(9_000);
        await AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_refused_transfer_moves_nothing_and_its_key_may_succeed_after_an_upgrade()
    {
        var payer = await UserAsync();
        var payee = await UserAsync(name: "韩梅梅");
        await payer.TopUpAsync(300_000);
        (await SendAsync(payer, payee, 90_000)).StatusCode.ShouldBe(HttpStatusCode.Created);
        await ShouldBeLimitAsync(await SendAsync(payer, payee, 20_000, "over-the-cap"), "daily", 10_000);
        (await payer.AvailableAsync()).ShouldBe(210_000);
        (await LimitAsync(payer, "daily"))["used"]!.GetValue<long>().ShouldBe(90_000);

        // An operator raises the account; today's cap grows by the difference, and the same key now goes through.
        using (var raised = await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{payer.UserId}/tier", new { tier = "class_iii", note = "documents reviewed" }))
        {
            raised.StatusCode.ShouldBe(HttpStatusCode.OK, await raised.Content.ReadAsStringAsync());
            (await raised.Content.ReadFromJsonAsync<JsonObject>())!["previous_tier"]!.GetValue<string>().ShouldBe("class_i");
        }
        (await SendAsync(payer, payee, 20_000, "over-the-cap")).StatusCode.ShouldBe(HttpStatusCode.Created);
        var limits = await payer.GetJsonAsync("/v1/me/limits");
        limits["tier"]!.GetValue<string>().ShouldBe("class_iii");
        var daily = await LimitAsync(payer, "daily");
        daily["max"]!.GetValue<long>().ShouldBe(1_000_000);
        daily["used"]!.GetValue<long>().ShouldBe(110_000);
        var year = await LimitAsync(payer, "year");
        year["max"]!.GetValue<long>().ShouldBe(20_000_000);
        year["used"]!.GetValue<long>().ShouldBe(110_000); // class I spending this year counts toward the year's cap
        (await CountAsync("SELECT COUNT(*) FROM security_events WHERE user_id = @u AND kind = 'tier_changed'", new { u = payer.UserId })).ShouldBe(1);
        await AssertLedgerOkAsync();
    }

    [Fact]
    public async Task The_daily_cap_resets_with_the_china_day_and_class_i_s_total_does_not()
    {
        var payer = await UserAsync();
        var payee = await UserAsync(name: "韩梅梅");
        await payer.TopUpAsync(800_000);
        (await SendAsync(payer, payee, 100_000)).StatusCode.ShouldBe(HttpStatusCode.Created);
        await ShouldBeLimitAsync(await SendAsync(payer, payee, 100), "daily", 0);

        host.Clock.Advance(TimeSpan.FromDays(1));
        await ReloginAsync(payer);
        (await LimitAsync(payer, "daily"))["used"]!.GetValue<long>().ShouldBe(0);
        await ShouldBeLimitAsync(await SendAsync(payer, payee, 100), "total", 0);

        // Class II counts by day and year: a new day's cap is whole again.
        using (var raised = await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{payer.UserId}/tier", new { tier = "class_ii", note = "bank card seen" }))
            raised.StatusCode.ShouldBe(HttpStatusCode.OK);
        for (var i = 0; i < 5; i++) (await SendAsync(payer, payee, 100_000)).StatusCode.ShouldBe(HttpStatusCode.Created);
        await ShouldBeLimitAsync(await SendAsync(payer, payee, 100), "daily", 0);
        host.Clock.Advance(TimeSpan.FromDays(1));
        await ReloginAsync(payer);
        (await SendAsync(payer, payee, 100_000)).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await payer.AvailableAsync()).ShouldBe(100_000);
        await AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_bank_card_the_sandbox_bank_confirms_makes_the_account_class_ii()
    {
        var user = await UserAsync(verified: false, name: "王芳");
        var idNumber = SecureUser.NewIdNumber();
        await user.VerifyIdentityAsync("王芳", idNumber);
        var card = ResidentIdNumberTests.WithLuhn("621700000000" + Random.Shared.Next(100_000, 999_999));

        await (await user.PostAsync("/v1/me/bank-cards", new { card_number = card[..^1] + (char)('0' + (card[^1] - '0' + 1) % 10), holder_name = "王芳", id_number = idNumber }))
            .ShouldBeProblemAsync(400, "invalid_card_number");
        await (await user.PostAsync("/v1/me/bank-cards", new { card_number = "12345", holder_name = "王芳", id_number = idNumber }))
            .ShouldBeProblemAsync(400, "invalid_card_number");
        await (await user.PostAsync("/v1/me/bank-cards", new { card_number = card, holder_name = "李磊", id_number = idNumber }))
            .ShouldBeProblemAsync(422, "card_holder_mismatch");
        await (await user.PostAsync("/v1/me/bank-cards", new { card_number = card, holder_name = "王芳", id_number = SecureUser.NewIdNumber() }))
            .ShouldBeProblemAsync(422, "card_holder_mismatch");
        await (await user.PostAsync("/v1/me/bank-cards", new { card_number = card, holder_name = "王芳", id_number = "123" }))
            .ShouldBeProblemAsync(400, "invalid_id_number");
        var unverified = await UserAsync(verified: false);
        await (await unverified.PostAsync("/v1/me/bank-cards", new { card_number = card, holder_name = "王芳", id_number = idNumber }))
            .ShouldBeProblemAsync(403, "identity_required");
        (await user.GetJsonAsync("/v1/me/limits"))["tier"]!.GetValue<string>().ShouldBe("class_i");

        using (var added = await user.PostAsync("/v1/me/bank-cards", new { card_number = card, holder_name = "王芳", id_number = idNumber }))
        {
            added.StatusCode.ShouldBe(HttpStatusCode.Created, await added.Content.ReadAsStringAsync());
            var body = (await added.Content.ReadFromJsonAsync<JsonObject>())!;
            body["tier"]!.GetValue<string>().ShouldBe("class_ii");
            body["last4"]!.GetValue<string>().ShouldBe(card[^4..]);
            body.ToJsonString().ShouldNotContain(card);
        }
        (await user.PostAsync("/v1/me/bank-cards", new { card_number = card, holder_name = "王芳", id_number = idNumber })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var cards = await user.GetJsonAsync("/v1/me/bank-cards");
        cards["items"]!.AsArray().Count.ShouldBe(1);
        (await user.GetJsonAsync("/v1/me/limits"))["tier"]!.GetValue<string>().ShouldBe("class_ii");
        (await LimitAsync(user, "daily"))["max"]!.GetValue<long>().ShouldBe(500_000);
        (await LimitAsync(user, "year"))["max"]!.GetValue<long>().ShouldBe(10_000_000);
        (await CountAsync("SELECT COUNT(*) FROM security_events WHERE user_id = @u AND kind IN ('bank_card_added', 'tier_changed')", new { u = user.UserId })).ShouldBe(2);
        (await CountAsync("SELECT COUNT(*) FROM bank_cards WHERE card_hash LIKE '%' || @c || '%'", new { c = card })).ShouldBe(0);
    }

    [Fact]
    public async Task Operator_tier_changes_check_their_input()
    {
        var user = await UserAsync();
        var unverified = await UserAsync(verified: false);
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{user.UserId}/tier", new { tier = "gold", note = "x" })).ShouldBeProblemAsync(400, "invalid_tier");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{user.UserId}/tier", new { tier = (string?)null, note = "x" })).ShouldBeProblemAsync(400, "invalid_tier");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{user.UserId}/tier", new { tier = "class_iii" })).ShouldBeProblemAsync(400, "invalid_note");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{Guid.NewGuid()}/tier", new { tier = "class_iii", note = "x" })).ShouldBeProblemAsync(404, "not_found");
        await (await OperatorAsync(HttpMethod.Post, "/admin/v1/users/not-a-guid/tier", new { tier = "class_iii", note = "x" })).ShouldBeProblemAsync(404, "not_found");
        await (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{unverified.UserId}/tier", new { tier = "class_iii", note = "x" })).ShouldBeProblemAsync(400, "invalid_tier");
        (await user.PostAsync($"/admin/v1/users/{user.UserId}/tier", new { tier = "class_iii", note = "x" })).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        // Lowering to unverified stops spending at once.
        (await OperatorAsync(HttpMethod.Post, $"/admin/v1/users/{user.UserId}/tier", new { tier = "unverified", note = "document withdrawn" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await (await user.PostAsync("/v1/topups", new { amount = 1_000, currency = "CNY" })).ShouldBeProblemAsync(403, "identity_required");
        (await user.GetJsonAsync("/v1/me/limits"))["limits"]!.AsArray().ShouldBeEmpty();
    }
}

public sealed class SqliteTierLimitTests(LimitsSqliteHost host) : TierLimitTests<LimitsSqliteHost>(host);

public sealed class PostgresTierLimitTests(LimitsPostgresHost host) : TierLimitTests<LimitsPostgresHost>(host);
