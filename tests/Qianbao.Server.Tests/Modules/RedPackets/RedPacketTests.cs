using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.RedPackets;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Modules.RedPackets;

/// <summary>
/// A secure server for red packets: no new-device step-up (a fresh login may send), tokens that outlive a moved clock, class III
/// allowed ¥30,000 a day (so a ¥20,000 packet is limited only by its own cap), and a fast expiry sweeper.
/// </summary>
public abstract class RedPacketHost(DatabaseEngine engine) : SecureHost(engine)
{
    protected override IEnumerable<KeyValuePair<string, string?>> SecureSettings() =>
    [
        new("Qianbao:Security:NewDeviceStepUpHours", "0"),
        new("Qianbao:Auth:TokenLifetimeMinutes", "43200"),
        new("Qianbao:Sandbox:ConfirmDelayMs", "10"),
        new("Qianbao:Limits:ClassIII:DailyMaxMinor", "3000000"),
        new("Qianbao:RedPackets:SweepIntervalMs", "50"),
    ];
}

public sealed class RedPacketSqliteHost() : RedPacketHost(DatabaseEngine.Sqlite);

public sealed class RedPacketPostgresHost() : RedPacketHost(DatabaseEngine.Postgres);

/// <summary>
/// Red packets end to end: validation edges, fixed and lucky sums exact, 50 concurrent claimers of 10 shares, one share per
/// person under concurrency, the sender refused, expiry returning the rest exactly once, PIN, step-up and limits as for a
/// transfer, and the ledger check after each.
/// </summary>
public abstract class RedPacketTests<THost>(THost host) : IClassFixture<THost> where THost : RedPacketHost
{
    private readonly HttpClient http = host.CreateClient();

    private Task<SecureUser> UserAsync(string name = "李磊", bool verified = true) =>
        SecureUser.CreateAsync(http, host.OperatorKey, name, verifyIdentity: verified);

    private async Task<SecureUser> SenderAsync(long topUp, string? tier = null)
    {
        var sender = await UserAsync("王芳");
        if (tier is not null) await sender.SetTierAsync(tier);
        if (topUp > 0) await sender.TopUpAsync(topUp);
        return sender;
    }

    private static async Task<JsonObject> JsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    private static Task<HttpResponseMessage> CreateAsync(SecureUser sender, object body, string? pin = SecureUser.Pin, string? key = null, string? stepUp = null) =>
        sender.PostAsync("/v1/red-packets", body, pin, key, stepUp);

    private static async Task<string> CreatedCodeAsync(SecureUser sender, long amount, int count, string split, int? hours = null)
    {
        var body = await JsonAsync(await CreateAsync(sender, new { amount, count, split, message = "新年快乐", expires_in_hours = hours ?? 24 }),
            HttpStatusCode.Created);
        body["amount"]!.GetValue<long>().ShouldBe(amount);
        body["count"]!.GetValue<int>().ShouldBe(count);
        body["split"]!.GetValue<string>().ShouldBe(split);
        return body["code"]!.GetValue<string>();
    }

    private static Task<HttpResponseMessage> ClaimAsync(SecureUser user, string code, string? key = null) =>
        user.PostAsync($"/v1/red-packets/{code}/claim", new { }, pin: null, idempotencyKey: key);

    private async Task AssertLedgerOkAsync()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/ledger/check");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.OperatorKey);
        var report = await JsonAsync(await http.SendAsync(request), HttpStatusCode.OK);
        report["ok"]!.GetValue<bool>().ShouldBeTrue(report.ToJsonString());
    }

    private async Task<long> ScalarAsync(string sql, object parameters)
    {
        await using var connection = await host.Services.GetRequiredService<Db>().OpenAsync();
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, sql, parameters);
    }

    [Fact]
    public async Task Bad_packets_are_refused_with_stable_codes_and_move_nothing()
    {
        var sender = await SenderAsync(10_000);
        await (await CreateAsync(sender, new { amount = 1_000, count = 0, split = "fixed" })).ShouldBeProblemAsync(400, "invalid_count");
        await (await CreateAsync(sender, new { amount = 10_100, count = 101, split = "fixed" })).ShouldBeProblemAsync(400, "invalid_count");
        await (await CreateAsync(sender, new { amount = 1_000, count = "5", split = "fixed" })).ShouldBeProblemAsync(400, "invalid_count");
        await (await CreateAsync(sender, new { amount = 2_000_001, count = 1, split = "fixed" })).ShouldBeProblemAsync(400, "red_packet_too_large");
        await (await CreateAsync(sender, new { amount = 5, count = 10, split = "lucky" })).ShouldBeProblemAsync(400, "share_too_small");
        await (await CreateAsync(sender, new { amount = 100, count = 3, split = "fixed" })).ShouldBeProblemAsync(400, "uneven_fixed_split");
        await (await CreateAsync(sender, new { amount = 100, count = 2, split = "random" })).ShouldBeProblemAsync(400, "invalid_split");
        await (await CreateAsync(sender, new { amount = 100, count = 2, split = "lucky", message = new string('福', 65) })).ShouldBeProblemAsync(400, "invalid_message");
        await (await CreateAsync(sender, new { amount = 100, count = 2, split = "lucky", expires_in_hours = 0 })).ShouldBeProblemAsync(400, "invalid_expiry");
        await (await CreateAsync(sender, new { amount = 100, count = 2, split = "lucky", expires_in_hours = 169 })).ShouldBeProblemAsync(400, "invalid_expiry");
        await (await CreateAsync(sender, new { amount = 0, count = 1, split = "fixed" })).ShouldBeProblemAsync(400, "invalid_amount");
        // The PIN applies as to a transfer; a refusal moves nothing.
        await (await CreateAsync(sender, new { amount = 100, count = 2, split = "lucky" }, pin: "")).ShouldBeProblemAsync(403, "pin_required");
        await (await CreateAsync(sender, new { amount = 100, count = 2, split = "lucky" }, pin: "246801")).ShouldBeProblemAsync(403, "invalid_pin");
        await (await CreateAsync(sender, new { amount = 10_001, count = 2, split = "lucky" })).ShouldBeProblemAsync(422, "insufficient_funds");
        (await sender.AvailableAsync()).ShouldBe(10_000);
        (await ScalarAsync("SELECT COUNT(*) FROM red_packets WHERE sender_id = @s", new { s = sender.UserId })).ShouldBe(0);

        // The edges that pass: 10 fen over 10 shares (1 fen each), 100 shares.
        var code = await CreatedCodeAsync(sender, 10, 10, "lucky");
        await CreatedCodeAsync(sender, 100, 100, "fixed");
        (await sender.AvailableAsync()).ShouldBe(9_890);
        var claimer = await UserAsync();
        (await JsonAsync(await ClaimAsync(claimer, code), HttpStatusCode.OK))["amount"]!.GetValue<long>().ShouldBe(1);
        await (await ClaimAsync(claimer, "no-such-code")).ShouldBeProblemAsync(404, "not_found");
        await AssertLedgerOkAsync();
    }

    [Fact]
    public async Task A_fixed_packet_pays_equal_shares_once_each_and_refuses_the_sender_the_unverified_and_a_second_claim()
    {
        var sender = await SenderAsync(5_000);
        var code = await CreatedCodeAsync(sender, 1_000, 4, "fixed");
        // The sender's wallet drops at once.
        (await sender.AvailableAsync()).ShouldBe(4_000);
        await (await ClaimAsync(sender, code)).ShouldBeProblemAsync(422, "own_red_packet");
        var unverified = await UserAsync(verified: false);
        await (await ClaimAsync(unverified, code)).ShouldBeProblemAsync(422, "recipient_not_verified");

        var claimers = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => UserAsync(i % 2 == 0 ? "张伟" : "刘洋")));
        var first = await JsonAsync(await ClaimAsync(claimers[0], code, "claim-1"), HttpStatusCode.OK);
        first["amount"]!.GetValue<long>().ShouldBe(250);
        // The same key answers the same claim again; another key is a second claim, refused.
        (await JsonAsync(await ClaimAsync(claimers[0], code, "claim-1"), HttpStatusCode.OK))["amount"]!.GetValue<long>().ShouldBe(250);
        await (await ClaimAsync(claimers[0], code)).ShouldBeProblemAsync(422, "already_claimed");
        for (var i = 1; i < 4; i++) (await JsonAsync(await ClaimAsync(claimers[i], code), HttpStatusCode.OK))["amount"]!.GetValue<long>().ShouldBe(250);
        await (await ClaimAsync(claimers[4], code)).ShouldBeProblemAsync(422, "out_of_shares");
        for (var i = 0; i < 4; i++) (await claimers[i].AvailableAsync()).ShouldBe(250);
        (await claimers[4].AvailableAsync()).ShouldBe(0);

        var view = await claimers[1].GetJsonAsync($"/v1/red-packets/{code}");
        view["status"]!.GetValue<string>().ShouldBe("finished");
        view["claimed"]!["count"]!.GetValue<int>().ShouldBe(4);
        view["claimed"]!["amount"]!.GetValue<long>().ShouldBe(1_000);
        view["my_amount"]!.GetValue<long>().ShouldBe(250);
        view["message"]!.GetValue<string>().ShouldBe("新年快乐");
        var names = view["claims"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToArray();
        names.Length.ShouldBe(4);
        names.ShouldAllBe(n => n.Contains('*'));
        names.ShouldNotContain("张伟");
        view["sender"]!["name"]!.GetValue<string>().ShouldNotBe("王芳");
        (await ScalarAsync("SELECT COUNT(*) FROM domain_events WHERE stream = @s", new { s = "red_packet:" + view["id"]!.GetValue<Guid>().ToString("N") }))
            .ShouldBe(5);
        // The wallet history names both sides.
        var sent = (await sender.GetJsonAsync("/v1/transactions?type=red_packet"))["items"]!.AsArray().ShouldHaveSingleItem()!;
        sent["amount"]!.GetValue<long>().ShouldBe(1_000);
        (await claimers[2].GetJsonAsync("/v1/transactions?type=red_packet_claim"))["items"]!.AsArray().ShouldHaveSingleItem()!["amount"]!.GetValue<long>()
            .ShouldBe(250);
        await AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Fifty_concurrent_claimers_of_ten_lucky_shares_exactly_ten_succeed_and_the_claimed_sum_is_the_amount()
    {
        var sender = await SenderAsync(10_000);
        var code = await CreatedCodeAsync(sender, 8_888, 10, "lucky");
        var claimers = new List<SecureUser>();
        for (var batch = 0; batch < 5; batch++) claimers.AddRange(await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => UserAsync())));

        var responses = await Task.WhenAll(claimers.Select(c => ClaimAsync(c, code)));
        var statuses = responses.Select(r => (int)r.StatusCode).ToArray();
        statuses.Count(s => s == 200).ShouldBe(10, string.Join(",", statuses));
        var claimed = 0L;
        foreach (var response in responses)
        {
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var amount = (await response.Content.ReadFromJsonAsync<JsonObject>())!["amount"]!.GetValue<long>();
                amount.ShouldBeGreaterThanOrEqualTo(1);
                claimed += amount;
            }
            else await response.ShouldBeProblemAsync(422, "out_of_shares");
        }
        claimed.ShouldBe(8_888);
        var balances = await Task.WhenAll(claimers.Select(c => c.AvailableAsync()));
        balances.Sum().ShouldBe(8_888);
        balances.Count(b => b > 0).ShouldBe(10);
        (await sender.AvailableAsync()).ShouldBe(1_112);
        var view = await sender.GetJsonAsync($"/v1/red-packets/{code}");
        view["status"]!.GetValue<string>().ShouldBe("finished");
        view["claims"]!.AsArray().Sum(c => c!["amount"]!.GetValue<long>()).ShouldBe(8_888);
        await AssertLedgerOkAsync();
    }

    [Fact]
    public async Task One_person_claiming_concurrently_with_different_keys_gets_exactly_one_share()
    {
        var sender = await SenderAsync(1_000);
        var code = await CreatedCodeAsync(sender, 1_000, 5, "lucky");
        var greedy = await UserAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => ClaimAsync(greedy, code)));
        responses.Count(r => r.StatusCode == HttpStatusCode.OK).ShouldBe(1);
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.OK)) await refused.ShouldBeProblemAsync(422, "already_claimed");
        var won = (await responses.Single(r => r.StatusCode == HttpStatusCode.OK).Content.ReadFromJsonAsync<JsonObject>())!["amount"]!.GetValue<long>();
        (await greedy.AvailableAsync()).ShouldBe(won);
        (await ScalarAsync("SELECT COUNT(*) FROM red_packet_shares WHERE claimed_by = @u", new { u = greedy.UserId })).ShouldBe(1);

        // The same key sent concurrently is one claim, answered the same way every time.
        var other = await UserAsync();
        var same = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => ClaimAsync(other, code, "one-key")));
        var amounts = new List<long>();
        foreach (var r in same) amounts.Add((await JsonAsync(r, HttpStatusCode.OK))["amount"]!.GetValue<long>());
        amounts.Distinct().ShouldHaveSingleItem();
        (await other.AvailableAsync()).ShouldBe(amounts[0]);
        await AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Expiry_returns_what_is_left_to_the_sender_exactly_once()
    {
        var sender = await SenderAsync(3_000);
        var code = await CreatedCodeAsync(sender, 2_000, 5, "lucky", hours: 1);
        var claimers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => UserAsync()));
        var claimed = 0L;
        foreach (var c in claimers[..2]) claimed += (await JsonAsync(await ClaimAsync(c, code), HttpStatusCode.OK))["amount"]!.GetValue<long>();
        (await sender.AvailableAsync()).ShouldBe(1_000);

        host.Clock.Advance(TimeSpan.FromMinutes(61));
        await (await ClaimAsync(claimers[2], code)).ShouldBeProblemAsync(422, "expired");
        // Several passes at once (and the hosted sweeper running meanwhile) return the rest once.
        var sweeper = host.Services.GetRequiredService<RedPacketSweeper>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => sweeper.RunOnceAsync(CancellationToken.None)));
        await Poll.UntilAsync(async () => await sender.AvailableAsync() == 1_000 + 2_000 - claimed, "the rest to come back", 10_000);
        (await sweeper.RunOnceAsync(CancellationToken.None)).ShouldBe(0);
        (await sender.AvailableAsync()).ShouldBe(3_000 - claimed);

        var view = await sender.GetJsonAsync($"/v1/red-packets/{code}");
        view["status"]!.GetValue<string>().ShouldBe("expired");
        view["refunded_amount"]!.GetValue<long>().ShouldBe(2_000 - claimed);
        view["claimed"]!["amount"]!.GetValue<long>().ShouldBe(claimed);
        (await ScalarAsync("SELECT COUNT(*) FROM domain_events WHERE type = 'red_packet.expired' AND stream = @s",
            new { s = "red_packet:" + view["id"]!.GetValue<Guid>().ToString("N") })).ShouldBe(1);
        await (await ClaimAsync(claimers[2], code)).ShouldBeProblemAsync(422, "expired");
        (await sender.GetJsonAsync("/v1/transactions?type=red_packet_refund"))["items"]!.AsArray().ShouldHaveSingleItem()!["amount"]!.GetValue<long>()
            .ShouldBe(2_000 - claimed);
        await AssertLedgerOkAsync();
    }

    [Fact]
    public async Task Packets_count_against_tier_limits_and_large_ones_need_step_up_as_transfers_do()
    {
        // Class I: ¥1,000 in total. ¥800 passes; ¥300 more would pass the cap and moves nothing.
        var small = await SenderAsync(150_000);
        await CreatedCodeAsync(small, 80_000, 10, "lucky");
        var limited = await CreateAsync(small, new { amount = 30_000, count = 3, split = "fixed" });
        var text = await limited.Content.ReadAsStringAsync();
        ((int)limited.StatusCode).ShouldBe(422, text);
        var problem = JsonNode.Parse(text)!;
        problem["code"]!.GetValue<string>().ShouldBe("limit_exceeded");
        problem["remaining"]!.GetValue<long>().ShouldBe(20_000);
        (await small.AvailableAsync()).ShouldBe(70_000);

        // ¥20,000 exactly (class III, this host allows ¥30,000 a day): above the step-up threshold, so the second factor is asked.
        var big = await SenderAsync(2_000_000, tier: "class_iii");
        var body = new { amount = 2_000_000, count = 100, split = "lucky" };
        await (await CreateAsync(big, body)).ShouldBeProblemAsync(403, "step_up_required");
        var (verificationId, smsCode) = await SandboxSms.VerifyAsync(http, host.OperatorKey, big.Phone, "step_up", big.AccessToken);
        var created = await JsonAsync(await CreateAsync(big, body, stepUp: $"sms={verificationId}:{smsCode}"), HttpStatusCode.Created);
        created["amount"]!.GetValue<long>().ShouldBe(2_000_000);
        (await big.AvailableAsync()).ShouldBe(0);
        (await ScalarAsync("SELECT SUM(amount) FROM red_packet_shares WHERE packet_id = @p", new { p = created["id"]!.GetValue<Guid>() })).ShouldBe(2_000_000);
        await AssertLedgerOkAsync();
    }
}

public sealed class SqliteRedPacketTests(RedPacketSqliteHost host) : RedPacketTests<RedPacketSqliteHost>(host);

public sealed class PostgresRedPacketTests(RedPacketPostgresHost host) : RedPacketTests<RedPacketPostgresHost>(host);

/// <summary>The splits themselves, over many seeds: every share at least one fen and the sum exact.</summary>
public sealed class RedPacketSplitTests
{
    [Fact]
    public void Lucky_shares_are_each_at_least_one_fen_and_sum_exactly_over_many_seeds()
    {
        for (var seed = 0; seed < 20_000; seed++)
        {
            var random = new Random(seed);
            var count = random.Next(1, 101);
            var amount = seed % 7 == 0 ? count : random.NextInt64(count, 2_000_001);
            var shares = RedPacketSplit.Lucky(amount, count, (min, max) => random.NextInt64(min, max + 1));
            shares.Length.ShouldBe(count);
            shares.Sum().ShouldBe(amount, $"seed {seed}");
            shares.Min().ShouldBeGreaterThanOrEqualTo(1, $"seed {seed}");
        }
    }

    [Fact]
    public void Lucky_shares_average_the_mean_and_no_early_share_passes_twice_the_mean_of_what_is_left()
    {
        var random = new Random(42);
        var firsts = new List<long>();
        for (var i = 0; i < 5_000; i++)
        {
            var shares = RedPacketSplit.Lucky(10_000, 10, (min, max) => random.NextInt64(min, max + 1));
            shares[0].ShouldBeLessThanOrEqualTo(2_000);
            firsts.Add(shares[0]);
        }
        firsts.Average().ShouldBeInRange(950, 1_050);
        RedPacketSplit.Lucky(5, 5, RedPacketSplit.SecureRandom).ShouldBe([1, 1, 1, 1, 1]);
        RedPacketSplit.Lucky(7, 1, RedPacketSplit.SecureRandom).ShouldBe([7]);
    }

    [Fact]
    public void Fixed_shares_are_equal_and_sum_exactly()
    {
        RedPacketSplit.Fixed(1_000, 4).ShouldBe([250, 250, 250, 250]);
        RedPacketSplit.Fixed(100, 100).ShouldAllBe(s => s == 1);
    }
}
