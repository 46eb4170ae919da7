using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Channels;

/// <summary>
/// The real server in-process on a fresh database, with its default funding channel <c>bank</c> of kind http pointing
/// at a <see cref="FakeBankConnector"/>, and a <see cref="ShiftedClock"/> both share. One per test class.
/// </summary>
public abstract class ChannelHost : IAsyncLifetime
{
    private WebApplicationFactory<Program>? factory;

    protected ChannelHost(DatabaseEngine engine) => Engine = engine;

    public DatabaseEngine Engine { get; }
    public string DataDir { get; } = Directory.CreateTempSubdirectory("qianbao-channel-test-").FullName;
    public ShiftedClock Clock { get; } = new();
    public FakeBankConnector Bank { get; private set; } = null!;
    public const string OperatorKey = "test-operator-key";

    public WebApplicationFactory<Program> Factory => factory ?? throw new InvalidOperationException("host not started");
    public IServiceProvider Services => Factory.Services;

    public async Task InitializeAsync()
    {
        var postgres = Engine == DatabaseEngine.Postgres ? await PostgresCluster.Shared.CreateDatabaseAsync("chan") : null;
        Bank = new FakeBankConnector(Clock);
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Qianbao:DataDir", DataDir);
            b.UseSetting("Qianbao:OperatorKey", OperatorKey);
            b.UseSetting("Qianbao:Auth:PasswordIterations", "1000");
            b.UseSetting("Qianbao:Sandbox:ConfirmDelayMs", "20");
            b.UseSetting("Qianbao:Holds:IntervalMs", "100");
            b.UseSetting("Qianbao:Holds:ReconcileAfterMs", "500");
            b.UseSetting("Qianbao:Channels:Default", "bank");
            b.UseSetting("Qianbao:Channels:bank:Kind", "http");
            b.UseSetting("Qianbao:Channels:bank:BaseUrl", Bank.BaseUrl.AbsoluteUri);
            b.UseSetting("Qianbao:Channels:bank:Secret", FakeBankConnector.Secret);
            b.UseSetting("Qianbao:Channels:bank:TimeoutMs", "2000");
            b.UseSetting("Logging:LogLevel:Default", "Warning");
            if (postgres is not null) b.UseSetting("ConnectionStrings:Postgres", postgres);
            b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(Clock));
        });
        _ = factory.Server;
        Bank.CallbackClient = factory.CreateClient();
    }

    public HttpClient CreateClient() => Factory.CreateClient();

    public async Task DisposeAsync()
    {
        if (factory is not null) await factory.DisposeAsync();
        await Bank.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a pool: the temp directory is cleaned by the OS later.
        }
    }
}

public sealed class SqliteChannelHost() : ChannelHost(DatabaseEngine.Sqlite);

public sealed class PostgresChannelHost() : ChannelHost(DatabaseEngine.Postgres);
