using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Gateway.Sdk;

/// <summary>
/// The system clock plus an offset a test moves forward: lifetimes (payment codes) can run out without sleeping, while
/// timers and everything the test does not advance keep real time.
/// </summary>
public sealed class ShiftedClock : TimeProvider
{
    private long offsetTicks;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref offsetTicks, by.Ticks);
}

/// <summary>A <see cref="GatewayServer"/> whose <see cref="TimeProvider"/> is a <see cref="ShiftedClock"/> the tests advance.</summary>
public abstract class ClockedGatewayServer(DatabaseEngine engine) : GatewayServer(engine)
{
    public ShiftedClock Clock { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder) =>
        builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Clock));
}

public sealed class SqliteClockedGatewayServer() : ClockedGatewayServer(DatabaseEngine.Sqlite);

public sealed class PostgresClockedGatewayServer() : ClockedGatewayServer(DatabaseEngine.Postgres);

/// <summary>A <see cref="GatewayServer"/> as production mode runs it: notify URLs must lead to public addresses.</summary>
public abstract class PublicNotifyGatewayServer(DatabaseEngine engine) : GatewayServer(engine)
{
    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.UseSetting("Qianbao:Gateway:AllowPrivateNotifyUrls", "false");
}

public sealed class SqlitePublicNotifyGatewayServer() : PublicNotifyGatewayServer(DatabaseEngine.Sqlite);

public sealed class PostgresPublicNotifyGatewayServer() : PublicNotifyGatewayServer(DatabaseEngine.Postgres);
