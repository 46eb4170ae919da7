using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Infrastructure;

/// <summary>
/// The real server in-process (WebApplicationFactory) on a fresh database: a fresh SQLite file in a temp
/// directory, or a fresh database on the shared throwaway PostgreSQL cluster. One per test class.
/// </summary>
public abstract class QianbaoHost : IAsyncLifetime
{
    private WebApplicationFactory<Program>? factory;

    protected QianbaoHost(DatabaseEngine engine) => Engine = engine;

    public DatabaseEngine Engine { get; }
    public string DataDir { get; } = Directory.CreateTempSubdirectory("qianbao-test-").FullName;
    public string? PostgresConnectionString { get; private set; }
    public string OperatorKey => "test-operator-key";

    /// <summary>The server's warnings and errors, for assertion messages.</summary>
    public CapturedLogs Logs { get; } = new();

    public WebApplicationFactory<Program> Factory => factory ?? throw new InvalidOperationException("host not started");
    public IServiceProvider Services => Factory.Services;

    /// <summary>Extra configuration a derived host wants (e.g. a short retry schedule).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings() => [];

    /// <summary>Services a derived host replaces (e.g. a clock the test moves).</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>Runs once the server has started.</summary>
    protected virtual void Started()
    {
    }

    public async Task InitializeAsync()
    {
        if (Engine == DatabaseEngine.Postgres)
            PostgresConnectionString = await PostgresCluster.Shared.CreateDatabaseAsync("qb");
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Qianbao:DataDir", DataDir);
            b.UseSetting("Qianbao:OperatorKey", OperatorKey);
            b.UseSetting("Qianbao:Auth:PasswordIterations", "1000");
            b.UseSetting("Qianbao:Sandbox:ConfirmDelayMs", "20");
            b.UseSetting("Qianbao:Holds:IntervalMs", "100");
            b.UseSetting("Qianbao:Holds:ReconcileAfterMs", "500");
            b.UseSetting("Logging:LogLevel:Default", "Warning");
            // Suites written before account security exercise other things; security suites set Relaxed=false in Settings().
            b.UseSetting("Qianbao:Security:Relaxed", "true");
            if (PostgresConnectionString is not null) b.UseSetting("ConnectionStrings:Postgres", PostgresConnectionString);
            foreach (var (key, value) in Settings()) b.UseSetting(key, value);
            b.ConfigureLogging(logging => logging.AddProvider(Logs));
            b.ConfigureTestServices(ConfigureServices);
        });
        _ = factory.Server; // start now, so failures surface in the fixture
        Started();
    }

    public HttpClient CreateClient() => Factory.CreateClient();

    public virtual async Task DisposeAsync()
    {
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
}

public sealed class SqliteHost() : QianbaoHost(DatabaseEngine.Sqlite);

public sealed class PostgresHost() : QianbaoHost(DatabaseEngine.Postgres);
