using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Identity;

/// <summary>
/// Item 9 of account security: <c>Qianbao:Security:Relaxed=true</c> (what QianbaoHost runs) turns off phone verification at
/// registration and on new devices, the PIN, step-up and the tier limits, so registration, login and money work exactly
/// as before account security. Production mode refusing the switch is held in Hosting/ConfigurationValidationTests.
/// </summary>
public abstract class RelaxedSwitchTests<THost>(THost host) : IClassFixture<THost> where THost : QianbaoHost
{
    [Fact]
    public async Task Without_codes_pins_identity_or_limits_money_moves_as_before()
    {
        var http = host.CreateClient();
        // Registration and login as before: no code, no device id; a session is still made.
        var alice = await WalletClient.RegisterAsync(http, "Alice");
        var bob = await WalletClient.RegisterAsync(http, "Bob");
        var login = await http.PostAsJsonAsync("/v1/auth/token", new { phone = alice.Phone, password = "correct horse" });
        login.StatusCode.ShouldBe(HttpStatusCode.OK, await login.Content.ReadAsStringAsync());
        (await login.Content.ReadFromJsonAsync<JsonObject>())!["refresh_token"].ShouldNotBeNull();

        // Neither has verified an identity or set a PIN; alice tops up and sends far more than class I's ¥1,000, in one
        // transfer above the ¥5,000 step-up threshold, from a device that logged in a moment ago.
        var topUp = await alice.PostAsync("/v1/topups", new { amount = 2_000_000, currency = "CNY" });
        topUp.StatusCode.ShouldBe(HttpStatusCode.Accepted, await topUp.Content.ReadAsStringAsync());
        await Poll.UntilAsync(async () => (await alice.GetJsonAsync("/v1/wallet"))["balances"]!.AsArray()
            .Any(b => b!["available"]!.GetValue<long>() == 2_000_000), "the top-up to post");
        var sent = await alice.PostAsync("/v1/transfers", new { to_user_id = bob.UserId, amount = 1_500_000, currency = "CNY" });
        sent.StatusCode.ShouldBe(HttpStatusCode.Created, await sent.Content.ReadAsStringAsync());
        var withdrawn = await bob.PostAsync("/v1/withdrawals", new { amount = 1_000_000, currency = "CNY" });
        withdrawn.StatusCode.ShouldBe(HttpStatusCode.Accepted, await withdrawn.Content.ReadAsStringAsync());
        var code = await bob.PostAsync("/v1/payment-codes", new { });
        code.StatusCode.ShouldBe(HttpStatusCode.Created, await code.Content.ReadAsStringAsync());
    }
}

public sealed class SqliteRelaxedSwitchTests(SqliteHost host) : RelaxedSwitchTests<SqliteHost>(host);

public sealed class PostgresRelaxedSwitchTests(PostgresHost host) : RelaxedSwitchTests<PostgresHost>(host);
