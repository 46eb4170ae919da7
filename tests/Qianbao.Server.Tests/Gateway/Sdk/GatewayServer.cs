using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Money;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Adapters.Alipay.Notifications;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// The real server in-process on real Kestrel (a loopback TCP port, which the Node SDK needs; TestServer is
/// in-memory) on a fresh database: a SQLite file in a temp directory or a fresh database on the shared throwaway
/// PostgreSQL cluster. One per test class; also owns the Node SDK driver for that server, started on first use.
/// </summary>
public abstract class GatewayServer : IAsyncLifetime
{
    private WebApplicationFactory<Program>? factory;
    private readonly SemaphoreSlim sdkStart = new(1, 1);
    private SdkDriver? sdk;

    protected GatewayServer(DatabaseEngine engine) => Engine = engine;

    public DatabaseEngine Engine { get; }
    public string DataDir { get; } = Directory.CreateTempSubdirectory("qianbao-gw-").FullName;
    public const string OperatorKey = "test-operator-key";

    /// <summary><c>http://127.0.0.1:PORT</c>, the real listening address.</summary>
    public string BaseUrl { get; private set; } = "";
    public string GatewayUrl => BaseUrl + "/gateway.do";

    /// <summary>A client over real TCP; anonymous (add headers per request).</summary>
    public HttpClient Http { get; private set; } = null!;

    public IServiceProvider Services => (factory ?? throw new InvalidOperationException("server not started")).Services;
    public Db Db => Services.GetRequiredService<Db>();

    /// <summary>The platform public key as the SDK takes it (bare Base64 SPKI).</summary>
    public string PlatformPublicKey => Services.GetRequiredService<PlatformKeyRing>().Current.PublicKeyBase64;

    /// <summary>
    /// True once another engineer's notification dispatcher is wired into the host (AddNotifications). Until then the
    /// gateway only writes outbox rows and delivery assertions are skipped (outbox assertions still run).
    /// </summary>
    public bool NotificationsWired => Services.GetService<NotificationDispatcher>() is not null;

    public async Task InitializeAsync()
    {
        string? postgres = null;
        if (Engine == DatabaseEngine.Postgres) postgres = await PostgresCluster.Shared.CreateDatabaseAsync("qbgw");
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Qianbao:DataDir", DataDir);
            b.UseSetting("Qianbao:OperatorKey", OperatorKey);
            b.UseSetting("Qianbao:Auth:PasswordIterations", "1000");
            b.UseSetting("Qianbao:Sandbox:ConfirmDelayMs", "20");
            b.UseSetting("Qianbao:Holds:IntervalMs", "100");
            b.UseSetting("Qianbao:Holds:ReconcileAfterMs", "500");
            // Fast notification delivery once the dispatcher is wired; harmless before.
            b.UseSetting("Qianbao:Gateway:NotifyPollIntervalMs", "50");
            b.UseSetting("Qianbao:Gateway:NotifyTimeoutMs", "3000");
            b.UseSetting("Qianbao:Gateway:NotifyRetrySchedule", "00:00:00.200,00:00:00.500,00:00:01");
            // Suites written before account security exercise the gateway; security suites set Relaxed=false in ConfigureWebHost.
            b.UseSetting("Qianbao:Security:Relaxed", "true");
            b.UseSetting("Logging:LogLevel:Default", "Warning");
            if (postgres is not null) b.UseSetting("ConnectionStrings:Postgres", postgres);
            ConfigureWebHost(b);
        });
        factory.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        var address = Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        BaseUrl = address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        Http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = new Uri(BaseUrl),
            Timeout = TimeSpan.FromSeconds(30),
        };
        await Task.CompletedTask;
    }

    /// <summary>A subclass's extra settings or service replacements (e.g. a test clock), applied after the defaults above.</summary>
    protected virtual void ConfigureWebHost(IWebHostBuilder builder)
    {
    }

    /// <summary>The Node SDK driver for this server (one process, shared by the class's tests).</summary>
    public async Task<SdkDriver> SdkAsync()
    {
        await sdkStart.WaitAsync(TimeSpan.FromSeconds(120));
        try
        {
            return sdk ??= await SdkDriver.StartAsync(GatewayUrl);
        }
        finally
        {
            sdkStart.Release();
        }
    }

    public async Task DisposeAsync()
    {
        if (sdk is not null) await sdk.DisposeAsync();
        Http?.Dispose();
        if (factory is not null) await factory.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a pool: the temp directory is cleaned by the OS later.
        }
    }

    // ---- operator API -------------------------------------------------------------------------------------------

    /// <summary>Calls the operator API with the bootstrap key, with an Idempotency-Key when <paramref name="idempotencyKey"/> is given.</summary>
    public async Task<HttpResponseMessage> OperatorSendAsync(HttpMethod method, string path, object? body = null, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OperatorKey);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await Http.SendAsync(request);
    }

    /// <summary>Creates (and by default verifies) a merchant; returns its id.</summary>
    public async Task<Guid> CreateMerchantAsync(int feeBps, bool verify = true, string name = "测试商户")
    {
        var created = await OperatorSendAsync(HttpMethod.Post, "/admin/v1/merchants", new
        {
            name, credit_code = CreditCodes.New(), legal_person = "张三", contact_phone = "13800138000", fee_bps = feeBps,
        });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var json = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        json["status"]!.GetValue<string>().ShouldBe("pending");
        var id = json["id"]!.GetValue<Guid>();
        if (verify)
        {
            var verified = await OperatorSendAsync(HttpMethod.Post, $"/admin/v1/merchants/{id}/verify");
            verified.StatusCode.ShouldBe(HttpStatusCode.OK, await verified.Content.ReadAsStringAsync());
        }
        return id;
    }

    /// <summary>Registers an app for the merchant with the shared test app key.</summary>
    /// <summary>A merchant signed up and approved through the API, with an app, and its admin's console token.</summary>
    public async Task<(MerchantApp App, MerchantLogin Admin, string AdminToken)> ShopAsync()
    {
        var admin = await MerchantAccounts.SignupAsync(Http, OperatorKey, relaxed: true);
        await MerchantAccounts.ApproveAsync(Http, OperatorKey, admin.MerchantId);
        var app = await CreateAppAsync(admin.MerchantId);
        return (app, admin, await MerchantAccounts.LoginAsync(Http, admin));
    }

    public async Task<MerchantApp> CreateAppAsync(Guid merchantId, string? notifyUrl = null)
    {
        var created = await OperatorSendAsync(HttpMethod.Post, $"/admin/v1/merchants/{merchantId}/apps", new
        {
            app_public_key_pem = AlipayKeys.ExportPublicKeyBase64(SdkKeys.App), notify_url = notifyUrl,
        });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var json = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var platformKey = json["platform_public_key"]!.GetValue<string>();
        platformKey.ShouldBe(PlatformPublicKey);
        return new MerchantApp(merchantId, json["app_id"]!.GetValue<string>(), platformKey);
    }

    public async Task<MerchantApp> CreateMerchantWithAppAsync(int feeBps, string? notifyUrl = null) =>
        await CreateAppAsync(await CreateMerchantAsync(feeBps), notifyUrl);

    public async Task<JsonObject> GetMerchantAsync(Guid id)
    {
        var response = await OperatorSendAsync(HttpMethod.Get, $"/admin/v1/merchants/{id}");
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>The merchant's CNY settlement balances (available, frozen) in fen.</summary>
    public async Task<(long Available, long Frozen)> SettlementAsync(Guid merchantId)
    {
        var cny = (await GetMerchantAsync(merchantId))["settlement"]!.AsArray().SingleOrDefault(s => s!["currency"]!.GetValue<string>() == "CNY");
        return cny is null ? (0, 0) : (cny["available"]!.GetValue<long>(), cny["frozen"]!.GetValue<long>());
    }

    // ---- wallet users and checks --------------------------------------------------------------------------------

    /// <summary>A new wallet user, topped up with <paramref name="fen"/>.</summary>
    public async Task<WalletClient> BuyerAsync(long fen, string name = "买家")
    {
        var buyer = await WalletClient.RegisterAsync(Http, name);
        if (fen > 0) await buyer.TopUpAsync(fen);
        return buyer;
    }

    /// <summary>The ledger check (conservation, limits, balances = transfers) passes.</summary>
    public async Task AssertLedgerOkAsync()
    {
        var report = await LedgerCheck.RunAsync(Db, CancellationToken.None);
        report.Ok.ShouldBeTrue(string.Join("\n", report.Violations));
    }

    /// <summary>
    /// A fingerprint of the whole ledger: transfer count and per-currency totals. Equal before and after = no money moved.
    /// Points (PTS) are left out unless asked for: a subscriber earns them shortly after each payment, so they may still
    /// arrive for a payment made before the first fingerprint.
    /// </summary>
    public async Task<string> LedgerFingerprintAsync(bool includePoints = false)
    {
        var report = await LedgerCheck.RunAsync(Db, CancellationToken.None);
        await using var connection = await Db.OpenAsync();
        var transfers = await connection.ExecuteScalarAsync<long>(includePoints ? "SELECT count(*) FROM transfers" : "SELECT count(*) FROM transfers WHERE currency <> 'PTS'");
        return transfers + ";" + string.Join(";", report.Currencies.Where(c => includePoints || c.Currency != "PTS")
            .Select(c => $"{c.Currency}:{c.DebitsPosted}/{c.CreditsPosted}/{c.DebitsPending}/{c.CreditsPending}"));
    }

    public async Task<int> ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await Db.OpenAsync();
        return await connection.ExecuteAsync(sql, parameters);
    }

    public async Task<long> CountAsync(string sql, object? parameters = null)
    {
        await using var connection = await Db.OpenAsync();
        return await connection.ExecuteScalarAsync<long>(sql, parameters);
    }

    /// <summary>
    /// Polls (bounded) until the count is <paramref name="expected"/>: for what an event subscriber writes after the
    /// request that caused it has answered (merchant notifications).
    /// </summary>
    public async Task CountEventuallyAsync(long expected, string sql, object? parameters = null)
    {
        await Poll.UntilAsync(async () => await CountAsync(sql, parameters) == expected, $"{sql} to count {expected}");
    }

    /// <summary>A gateway caller signing with the C# signer (fast; for concurrency and malformed input).</summary>
    public GatewayCaller Caller(MerchantApp app, RSA? signingKey = null) => new(Http, app.AppId, signingKey ?? SdkKeys.App, PlatformPublicKey);
}

public sealed class SqliteGatewayServer() : GatewayServer(DatabaseEngine.Sqlite);

public sealed class PostgresGatewayServer() : GatewayServer(DatabaseEngine.Postgres);

/// <summary>A merchant's gateway app as the tests use it.</summary>
public sealed record MerchantApp(Guid MerchantId, string AppId, string PlatformPublicKey);

/// <summary>Keys generated once per test run (2048-bit generation costs ~100 ms each).</summary>
public static class SdkKeys
{
    private static readonly Lazy<RSA> LazyApp = new(() => RSA.Create(2048));
    private static readonly Lazy<RSA> LazyStranger = new(() => RSA.Create(2048));

    /// <summary>Every test app registers this key's public half; the SDK signs with its private half.</summary>
    public static RSA App => LazyApp.Value;

    /// <summary>A key no app registered: requests signed with it must fail verification.</summary>
    public static RSA Stranger => LazyStranger.Value;

    /// <summary>The SDK's default private key form: bare Base64 PKCS#1.</summary>
    public static string PrivatePkcs1(RSA key) => AlipayKeys.ExportPrivateKeyPkcs1Base64(key);
}
