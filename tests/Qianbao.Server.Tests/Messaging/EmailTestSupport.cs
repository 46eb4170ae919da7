using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using MimeKit;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Qianbao.Server.Tests.Messaging;

/// <summary>
/// A real SMTP server (the SmtpServer package) on 127.0.0.1, in this test process: what it accepts is parsed with MimeKit.
/// It can be started on a port chosen before (so a test can point the server at it while it is still down: an outage).
/// </summary>
public sealed class TestSmtpServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<MimeMessage> received = new();
    private readonly CancellationTokenSource stop = new();
    private SmtpServer.SmtpServer? server;
    private Task? running;

    private TestSmtpServer(int port) => Port = port;

    public int Port { get; }
    public IReadOnlyList<MimeMessage> Received => [.. received];

    /// <summary>The settings that point a server at a test SMTP server on <paramref name="port"/>, with short waits and retries.</summary>
    public static (string, string)[] Settings(int port, string publicBaseUrl = "https://wallet.example.com") =>
    [
        ("Qianbao:Email:Smtp:Host", "127.0.0.1"),
        ("Qianbao:Email:Smtp:Port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("Qianbao:Email:Smtp:From", "Qianbao <no-reply@qianbao.test>"),
        ("Qianbao:Email:Smtp:Security", "none"),
        ("Qianbao:Email:TimeoutMs", "2000"),
        ("Qianbao:Email:PollIntervalMs", "100"),
        ("Qianbao:Email:RetryBaseMs", "100"),
        ("Qianbao:Email:RetryMaxMs", "300"),
        ("Qianbao:PublicBaseUrl", publicBaseUrl),
    ];

    /// <summary>A free port on 127.0.0.1 (nothing listens on it until <see cref="StartAsync(int)"/>).</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static Task<TestSmtpServer> StartAsync() => StartAsync(FreePort());

    public static async Task<TestSmtpServer> StartAsync(int port)
    {
        var smtp = new TestSmtpServer(port);
        var options = new SmtpServerOptionsBuilder().ServerName("localhost")
            .Endpoint(b => b.Endpoint(new IPEndPoint(IPAddress.Loopback, port))).Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(smtp.received));
        smtp.server = new SmtpServer.SmtpServer(options, services);
        smtp.running = smtp.server.StartAsync(smtp.stop.Token);
        // Listening starts on a background task: wait (bounded) until a connection is accepted.
        var until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return smtp;
            }
            catch (SocketException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(20);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (running is not null)
        {
            try { await running.WaitAsync(TimeSpan.FromSeconds(5)); }
            catch (Exception) { /* stopping */ }
        }
        stop.Dispose();
    }

    private sealed class Store(ConcurrentQueue<MimeMessage> into) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer,
            CancellationToken cancellationToken)
        {
            using var stream = new MemoryStream(buffer.ToArray());
            into.Enqueue(await MimeMessage.LoadAsync(stream, cancellationToken));
            return SmtpResponse.Ok;
        }
    }
}

/// <summary>A clock that stands still until moved: a sender pass run with it decides on exactly this instant.</summary>
public sealed class FrozenClock(DateTimeOffset at) : TimeProvider
{
    private long ticks = at.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref ticks, by.Ticks);
}
