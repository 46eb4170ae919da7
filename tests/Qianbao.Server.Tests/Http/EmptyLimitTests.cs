using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Http;

/// <summary>
/// The older list routes read <c>limit</c> as the merchant lists do (Http/PageLimit): an empty <c>?limit=</c> is the route's
/// default page (as many items as with no limit at all), not a 400; a bad one is still 400 <c>invalid_limit</c>. Both engines.
/// </summary>
public abstract class EmptyLimitTests<THost>(THost host) : IClassFixture<THost> where THost : SecureHost
{
    private readonly HttpClient http = host.CreateClient();

    private async Task<HttpResponseMessage> GetAsync(string path, string bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await http.SendAsync(request);
    }

    /// <summary><paramref name="path"/> with an empty limit answers 200 as without one; limit=0 is still refused. Returns the answer.</summary>
    private async Task<JsonObject> EmptyIsDefaultAsync(string path, string bearer)
    {
        var separator = path.Contains('?') ? "&" : "?";
        var empty = await GetAsync(path + separator + "limit=", bearer);
        var text = await empty.Content.ReadAsStringAsync();
        empty.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        // As many items as without a limit (not the text: reading the audit log as an operator may add to it meanwhile).
        var without = JsonNode.Parse(await (await GetAsync(path, bearer)).Content.ReadAsStringAsync())!;
        JsonNode.Parse(text)!["items"]!.AsArray().Count.ShouldBe(without["items"]!.AsArray().Count);
        await (await GetAsync(path + separator + "limit=0", bearer)).ShouldBeProblemAsync(400, "invalid_limit");
        return JsonNode.Parse(text)!.AsObject();
    }

    [Fact]
    public async Task The_notification_inbox_takes_an_empty_limit_as_its_default_page()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        var db = host.Services.GetRequiredService<Db>();
        for (var i = 0; i < ListNotifications.LimitDefault + 1; i++)
        {
            await using var connection = await db.OpenAsync();
            await using var tx = await db.BeginWriteAsync(connection, CancellationToken.None);
            await host.Services.GetRequiredService<Notifier>().NotifyAsync(connection, tx, new NotificationRequest(user.UserId, NotificationCategory.Transaction,
                "trade_paid", "trade:" + Guid.NewGuid(), new Dictionary<string, string> { ["amount"] = "1.00", ["merchant"] = "Corner Shop" }), CancellationToken.None);
            await tx.CommitAsync();
        }
        var page = await EmptyIsDefaultAsync("/v1/notifications", user.AccessToken);
        page["items"]!.AsArray().Count.ShouldBe(ListNotifications.LimitDefault);
        page["next_cursor"].ShouldNotBeNull();
    }

    [Fact]
    public async Task Security_events_take_an_empty_limit_as_their_default_page()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: true, verifyIdentity: false);
        (await EmptyIsDefaultAsync("/v1/me/security-events", user.AccessToken))["items"]!.AsArray().Count.ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task The_audit_log_takes_an_empty_limit_as_its_default_page()
    {
        await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        (await EmptyIsDefaultAsync("/admin/v1/audit", host.OperatorKey))["items"]!.AsArray().Count.ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task Risk_cases_take_an_empty_limit_as_their_default_page() =>
        (await EmptyIsDefaultAsync("/admin/v1/risk/cases?status=open", host.OperatorKey))["items"].ShouldNotBeNull();

    [Fact]
    public async Task Wallet_transactions_take_an_empty_limit_as_their_default_page()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: true, verifyIdentity: true);
        await user.TopUpAsync(1_000);
        await user.TopUpAsync(2_000);
        (await EmptyIsDefaultAsync("/v1/transactions", user.AccessToken))["items"]!.AsArray().Count.ShouldBe(2);
    }

    [Fact]
    public async Task Merchant_notifications_of_the_admin_take_an_empty_limit_as_their_default_page() =>
        (await EmptyIsDefaultAsync("/admin/v1/notifications", host.OperatorKey))["items"].ShouldNotBeNull();
}

public sealed class SqliteEmptyLimitTests(SecureSqliteHost host) : EmptyLimitTests<SecureSqliteHost>(host);

public sealed class PostgresEmptyLimitTests(SecurePostgresHost host) : EmptyLimitTests<SecurePostgresHost>(host);
