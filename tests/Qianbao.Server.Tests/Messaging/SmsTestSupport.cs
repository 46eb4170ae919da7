using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Messaging;

/// <summary>One message the receiver accepted (signature verified on the receiver's side).</summary>
public sealed record ReceivedSms(string MessageId, string To, string Text, string Template, string Locale);

/// <summary>
/// An SMS gateway's webhook: a real Kestrel server on 127.0.0.1 (free port). It checks <c>X-Qianbao-Signature</c> the way
/// a receiver must (recomputes the HMAC over "&lt;t&gt;.&lt;raw body&gt;" with the shared secret) and answers 401 to a bad one.
/// <see cref="Fail"/> decides the n-th request's fate (1-based): null accepts it, 500 answers 500, 0 hangs until the
/// sender gives up.
/// </summary>
public sealed class SmsReceiver : IAsyncDisposable
{
    public const string Secret = "receiver-shared-secret-0123456789";

    private readonly WebApplication app;
    private readonly ConcurrentQueue<ReceivedSms> accepted = new();
    private int requests;
    private int badSignatures;

    private SmsReceiver(WebApplication app) => this.app = app;

    public Func<int, int?> Fail { get; set; } = _ => null;
    public string Url { get; private set; } = "";
    public int Requests => Volatile.Read(ref requests);
    public int BadSignatures => Volatile.Read(ref badSignatures);
    public IReadOnlyList<ReceivedSms> Accepted => [.. accepted];

    public static async Task<SmsReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new SmsReceiver(app);
        app.MapPost("/sms", receiver.HandleAsync);
        await app.StartAsync();
        receiver.Url = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single() + "/sms";
        return receiver;
    }

    private async Task HandleAsync(HttpContext http)
    {
        var n = Interlocked.Increment(ref requests);
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(http.RequestAborted);
        if (!Verifies(http.Request.Headers["X-Qianbao-Signature"].ToString(), body))
        {
            Interlocked.Increment(ref badSignatures);
            http.Response.StatusCode = 401;
            return;
        }

        switch (Fail(n))
        {
            case 0:
                await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            case { } status:
                http.Response.StatusCode = status;
                await http.Response.WriteAsync("provider down", http.RequestAborted);
                return;
        }

        var json = JsonNode.Parse(body)!.AsObject();
        accepted.Enqueue(new ReceivedSms(http.Request.Headers["X-Qianbao-Message-Id"].ToString(), json["to"]!.GetValue<string>(),
            json["text"]!.GetValue<string>(), json["template"]!.GetValue<string>(), json["locale"]!.GetValue<string>()));
        http.Response.StatusCode = 202;
    }

    /// <summary>The receiver's check, written from the documented format rather than from the server's code.</summary>
    private static bool Verifies(string header, string body)
    {
        var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        if (!parts.TryGetValue("t", out var t) || !parts.TryGetValue("v1", out var v1) || !long.TryParse(t, out var seconds)) return false;
        // A receiver also refuses old signatures (replays); five minutes either way.
        if (Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - seconds) > 300) return false;
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(t + "." + body));
        byte[] given;
        try { given = Convert.FromHexString(v1); }
        catch (FormatException) { return false; }
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
    }
}

/// <summary>
/// A database of its own (SQLite directory or PostgreSQL database) on which server hosts can be started and stopped, so a
/// test can restart the server, or run two, on the same data.
/// </summary>
public sealed class SmsBed : IAsyncDisposable
{
    public const string OperatorKey = "test-operator-key";

    private readonly List<WebApplicationFactory<Program>> hosts = [];
    private readonly string dataDir = Directory.CreateTempSubdirectory("qianbao-sms-").FullName;
    private string? postgres;

    public DatabaseEngine Engine { get; private init; }
    public CapturedLogs Logs { get; } = new();

    public static async Task<SmsBed> CreateAsync(DatabaseEngine engine)
    {
        var bed = new SmsBed { Engine = engine };
        if (engine == DatabaseEngine.Postgres) bed.postgres = await PostgresCluster.Shared.CreateDatabaseAsync("qbsms");
        return bed;
    }

    /// <summary>Starts a server process on this bed's database with <paramref name="settings"/> (e.g. the SMS provider).</summary>
    public WebApplicationFactory<Program> Start(params (string Key, string Value)[] settings)
    {
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Qianbao:DataDir", dataDir);
            b.UseSetting("Qianbao:OperatorKey", OperatorKey);
            b.UseSetting("Qianbao:Auth:PasswordIterations", "1000");
            b.UseSetting("Qianbao:Security:Relaxed", "false");
            b.UseSetting("Logging:LogLevel:Default", "Warning");
            if (postgres is not null) b.UseSetting("ConnectionStrings:Postgres", postgres);
            foreach (var (key, value) in settings) b.UseSetting(key, value);
            b.ConfigureLogging(logging => logging.AddProvider(Logs));
        });
        _ = factory.Server;
        hosts.Add(factory);
        return factory;
    }

    /// <summary>Settings of the webhook provider pointing at <paramref name="receiver"/>, with quick retries.</summary>
    public static (string, string)[] Webhook(SmsReceiver receiver, int timeoutMs = 1000) =>
    [
        ("Qianbao:Sms:Provider", "webhook"),
        ("Qianbao:Sms:WebhookUrl", receiver.Url),
        ("Qianbao:Sms:WebhookSecret", SmsReceiver.Secret),
        ("Qianbao:Sms:TimeoutMs", timeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("Qianbao:Sms:PollIntervalMs", "100"),
        ("Qianbao:Sms:RetryBaseMs", "200"),
        ("Qianbao:Sms:RetryMaxMs", "400"),
    ];

    public async ValueTask DisposeAsync()
    {
        foreach (var host in hosts) await host.DisposeAsync();
        try { Directory.Delete(dataDir, recursive: true); }
        catch (IOException) { /* a pooled connection still holds a file; the OS cleans temp later */ }
    }

    private static int counter;

    public static string NewPhone() => "136" + Interlocked.Increment(ref counter).ToString("D4") + Random.Shared.Next(0, 10_000).ToString("D4");

    /// <summary>Asks for a registration code for <paramref name="phone"/>: one message queued.</summary>
    public static async Task RequestCodeAsync(HttpClient http, string phone)
    {
        var response = await http.PostAsJsonAsync("/v1/verifications", new { phone, purpose = "register" });
        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls until <paramref name="done"/> holds (bounded).</summary>
    public static async Task EventuallyAsync(Func<bool> done, TimeSpan within, Func<string> because)
    {
        var until = DateTime.UtcNow + within;
        while (!done())
        {
            if (DateTime.UtcNow > until) throw new ShouldAssertException(because());
            await Task.Delay(50);
        }
    }
}
