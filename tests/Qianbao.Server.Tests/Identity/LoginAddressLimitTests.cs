using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Identity;

/// <summary>
/// A secure host whose requests come from the address in <c>X-Test-Client-Address</c> (the in-process test server has
/// no remote address of its own), so a test can log in from several addresses.
/// </summary>
public abstract class AddressedSecureHost(DatabaseEngine engine) : SecureHost(engine)
{
    public const string AddressHeader = "X-Test-Client-Address";

    protected override void ConfigureServices(IServiceCollection services)
    {
        base.ConfigureServices(services);
        services.AddSingleton<IStartupFilter, ClientAddressFromHeader>();
    }

    private sealed class ClientAddressFromHeader : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((http, inner) =>
            {
                if (IPAddress.TryParse(http.Request.Headers[AddressHeader].ToString(), out var address)) http.Connection.RemoteIpAddress = address;
                return inner(http);
            });
            next(app);
        };
    }
}

public sealed class AddressedSecureSqliteHost() : AddressedSecureHost(DatabaseEngine.Sqlite);

public sealed class AddressedSecurePostgresHost() : AddressedSecureHost(DatabaseEngine.Postgres);

/// <summary>Item 3: at most 30 logins a minute from one client address, refused before any password is hashed.</summary>
public abstract class LoginAddressLimitTests<THost>(THost host) : IClassFixture<THost> where THost : AddressedSecureHost
{
    private readonly HttpClient http = host.CreateClient();

    private Task<HttpResponseMessage> LoginFromAsync(string address, string phone, string password, string deviceId)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/token") { Content = JsonContent.Create(new { phone, password, device_id = deviceId }) };
        request.Headers.Add(AddressedSecureHost.AddressHeader, address);
        return http.SendAsync(request);
    }

    [Fact]
    public async Task Thirty_logins_a_minute_per_address()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        // Start at the beginning of a minute window, so all 31 fall in one.
        var now = host.Clock.GetUtcNow();
        host.Clock.Advance(TimeSpan.FromSeconds(60 - now.Second) - TimeSpan.FromMilliseconds(now.Millisecond) + TimeSpan.FromMilliseconds(10));
        for (var i = 0; i < 30; i++)
        {
            // Different phones, right and wrong: the address is what is counted.
            var response = i % 2 == 0
                ? await LoginFromAsync("203.0.113.7", user.Phone, SecureUser.Password, user.DeviceId)
                : await LoginFromAsync("203.0.113.7", SecureUser.NewPhone(), "wrong horse", "d");
            ((int)response.StatusCode).ShouldBeOneOf(200, 401);
        }
        var over = await LoginFromAsync("203.0.113.7", user.Phone, SecureUser.Password, user.DeviceId);
        await over.ShouldBeProblemAsync(429, "too_many_requests");
        over.Headers.RetryAfter!.Delta!.Value.ShouldBeInRange(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        // Another address is not affected; the next minute the first may log in again.
        (await LoginFromAsync("2001:db8::1", user.Phone, SecureUser.Password, user.DeviceId)).StatusCode.ShouldBe(HttpStatusCode.OK);
        host.Clock.Advance(TimeSpan.FromSeconds(61));
        (await LoginFromAsync("203.0.113.7", user.Phone, SecureUser.Password, user.DeviceId)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_address_is_recorded_in_the_security_events()
    {
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, setPin: false, verifyIdentity: false);
        (await LoginFromAsync("198.51.100.9", user.Phone, SecureUser.Password, user.DeviceId)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var events = await user.GetJsonAsync("/v1/me/security-events");
        events["items"]!.AsArray()[0]!["client_address"]!.GetValue<string>().ShouldBe("198.51.100.9");
    }
}

public sealed class SqliteLoginAddressLimitTests(AddressedSecureSqliteHost host) : LoginAddressLimitTests<AddressedSecureSqliteHost>(host);

public sealed class PostgresLoginAddressLimitTests(AddressedSecurePostgresHost host) : LoginAddressLimitTests<AddressedSecurePostgresHost>(host);
