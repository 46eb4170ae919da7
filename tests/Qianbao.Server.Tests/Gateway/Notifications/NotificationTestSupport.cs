using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Adapters.Alipay.Notifications;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Acquiring;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Gateway.Notifications;

/// <summary>One POST the receiver got.</summary>
public sealed record ReceivedNotification(string Path, string? ContentType, string Body, IReadOnlyDictionary<string, string> Fields);

/// <summary>
/// A merchant's notify endpoint: a real Kestrel server on 127.0.0.1 (free port) that records every POST and answers
/// what <see cref="Answer"/> says for the n-th request (1-based). An answer of null hangs until the caller gives up.
/// </summary>
public sealed class NotifyReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<ReceivedNotification> received = new();
    private int count;

    private NotifyReceiver(WebApplication app) => this.app = app;

    /// <summary>What to answer the n-th request (1-based); "success" unless a test says otherwise.</summary>
    public Func<int, string?> Answer { get; set; } = _ => "success";

    public string BaseUrl { get; private set; } = "";
    public string Url => BaseUrl + "/notify";
    public IReadOnlyList<ReceivedNotification> Received => [.. received];

    public static async Task<NotifyReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new NotifyReceiver(app);
        app.MapPost("/{**path}", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(http.RequestAborted);
            var fields = QueryHelpers.ParseQuery(body).ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);
            receiver.received.Enqueue(new ReceivedNotification(http.Request.Path, http.Request.ContentType, body, fields));
            var answer = receiver.Answer(Interlocked.Increment(ref receiver.count));
            if (answer is null)
            {
                // Never answers: the sender must give up on its own.
                await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }

            http.Response.ContentType = "text/plain; charset=utf-8";
            await http.Response.WriteAsync(answer, http.RequestAborted);
        });
        await app.StartAsync();
        receiver.BaseUrl = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
    }
}

/// <summary>
/// A fresh, migrated database (SQLite temp file or a new PostgreSQL database), the platform key ring, and dispatchers
/// built through <see cref="NotificationRegistration.AddNotifications"/> exactly as the host builds them. Each
/// <see cref="NewDispatcher"/> is a separate container, so two of them behave like two server processes.
/// </summary>
public sealed class NotifyBed : IAsyncDisposable
{
    private static readonly Lazy<PlatformKeyRing> LazyKeys = new(() =>
        PlatformKeyRing.LoadOrCreate(Directory.CreateTempSubdirectory("qianbao-notify-keys-").FullName));

    private readonly List<ServiceProvider> providers = [];
    private readonly string? directory;

    private NotifyBed(Db db, string? directory)
    {
        Db = db;
        this.directory = directory;
    }

    public Db Db { get; }
    public static PlatformKeyRing Keys => LazyKeys.Value;

    /// <summary>Settings every dispatcher of this bed gets (keys under <c>Qianbao:Gateway</c>).</summary>
    public Dictionary<string, string?> Settings { get; } = new()
    {
        ["Qianbao:Gateway:NotifyRetrySchedule"] = "00:00:00.050,00:00:00.050,00:00:00.050",
        ["Qianbao:Gateway:NotifyTimeoutMs"] = "2000",
        // Long, so that anything that happens quickly was caused by RunOnceAsync or a nudge, not by polling.
        ["Qianbao:Gateway:NotifyPollIntervalMs"] = "600000",
    };

    public static async Task<NotifyBed> CreateAsync(DatabaseEngine engine)
    {
        DbValues.RegisterDapperHandlers();
        Db db;
        string? directory = null;
        if (engine == DatabaseEngine.Postgres)
        {
            db = Db.ForPostgres(await PostgresCluster.Shared.CreateDatabaseAsync("notify"));
        }
        else
        {
            directory = Directory.CreateTempSubdirectory("qianbao-notify-").FullName;
            db = Db.ForSqlite(Path.Combine(directory, "qianbao.db"));
        }

        await Migrator.MigrateAsync(db, NullLogger.Instance);
        return new NotifyBed(db, directory);
    }

    public IConfiguration Configuration() => new ConfigurationBuilder().AddInMemoryCollection(Settings).Build();

    /// <summary>Registers what the host provides plus <see cref="NotificationRegistration.AddNotifications"/>.</summary>
    public void AddServices(IServiceCollection services)
    {
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton(Db);
        services.AddSingleton(Keys);
        services.AddSingleton(TimeProvider.System);
        services.AddNotifications(Configuration());
    }

    /// <summary>A dispatcher in a container of its own, as a separate process would have.</summary>
    public NotificationDispatcher NewDispatcher()
    {
        var services = new ServiceCollection();
        AddServices(services);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        providers.Add(provider);
        return provider.GetRequiredService<NotificationDispatcher>();
    }

    /// <summary>Writes an outbox row the way the gateway does, for a paid trade; returns its id and notify_id.</summary>
    public async Task<(Guid Id, string NotifyId)> InsertAsync(string url, string tradeNo = "2024051322001", string eventName = "payment")
    {
        var now = TimeProvider.System.GetUnixMicroseconds();
        var trade = new TradeRow
        {
            trade_no = tradeNo, app_id = "2021000122671080", merchant_id = Guid.CreateVersion7(), out_trade_no = "T-" + tradeNo,
            kind = "precreate", status = TradeStatus.Success, total_amount = 1_234, subject = "中文 & = 测试 +%", notify_url = url,
            created_at_us = now, paid_at_us = now, expires_at_us = now + 60_000_000,
        };
        var effect = NotificationOutbox.Queue(trade, appNotifyUrl: null, eventName, new TradeChange(TradeStatus.Success, 0, Guid.CreateVersion7(), now), now, Guid.CreateVersion7())
            ?? throw new InvalidOperationException("no effect for a trade with a notify url");
        await using var connection = await Db.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await NotificationOutbox.InsertAsync(connection, tx, [effect], CancellationToken.None);
        await tx.CommitAsync();
        return (effect.Id, effect.Id.ToString("N"));
    }

    public async Task<DeliveryRow> GetAsync(Guid id)
    {
        await using var connection = await Db.OpenAsync();
        return await connection.QuerySingleAsync<DeliveryRow>(
            "SELECT id, notify_id, status, attempts, next_attempt_at_us, last_error, delivered_at_us FROM notify_deliveries WHERE id = @id", new { id });
    }

    /// <summary>Drives <paramref name="dispatcher"/> until the row reaches <paramref name="status"/>; bounded.</summary>
    public async Task<DeliveryRow> RunUntilAsync(NotificationDispatcher dispatcher, Guid id, string status, int timeoutMs = 15_000)
    {
        DeliveryRow? row = null;
        await Poll.UntilAsync(async () =>
        {
            await dispatcher.RunOnceAsync(CancellationToken.None);
            row = await GetAsync(id);
            return row.status == status;
        }, $"notification {id} to become {status}", timeoutMs);
        return row!;
    }

    /// <summary>A loopback port nothing listens on: bound, then released.</summary>
    public static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var provider in providers) await provider.DisposeAsync();
        await Db.DisposeAsync();
        if (directory is not null)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // Still held by a pooled connection; the OS cleans temp later.
            }
        }
    }

    public sealed class DeliveryRow
    {
        public Guid id { get; init; }
        public string notify_id { get; init; } = "";
        public string status { get; init; } = "";
        public int attempts { get; init; }
        public long next_attempt_at_us { get; init; }
        public string? last_error { get; init; }
        public long? delivered_at_us { get; init; }
    }
}

internal static class NotificationAssertions
{
    /// <summary>Checks a received notification's signature with the platform public key, the way a merchant SDK does.</summary>
    public static void ShouldBeSignedByPlatform(this ReceivedNotification n)
    {
        n.Fields["sign_type"].ShouldBe("RSA2");
        using var publicKey = System.Security.Cryptography.RSA.Create();
        publicKey.ImportSubjectPublicKeyInfo(NotifyBed.Keys.Current.PrivateKey.ExportSubjectPublicKeyInfo(), out _);
        AlipaySignature.Verify(AlipaySignature.BuildNotifySignContent(n.Fields), n.Fields["sign"], publicKey)
            .ShouldBeTrue("the notification's signature must verify with the platform public key");
    }
}
