using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Channels;

/// <summary>
/// The real server in-process on a fresh database (<see cref="QianbaoHost"/>), with its default funding channel
/// <c>bank</c> of kind http pointing at a <see cref="FakeBankConnector"/>, and a <see cref="ShiftedClock"/> both share.
/// One per test class.
/// </summary>
public abstract class ChannelHost(DatabaseEngine engine) : QianbaoHost(engine)
{
    public ShiftedClock Clock { get; } = new();

    /// <summary>Listening from construction, so its address can go into the server's configuration.</summary>
    public FakeBankConnector Bank => bank ??= new FakeBankConnector(Clock);
    private FakeBankConnector? bank;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings() =>
    [
        new("Qianbao:Channels:Default", "bank"),
        new("Qianbao:Channels:bank:Kind", "http"),
        new("Qianbao:Channels:bank:BaseUrl", Bank.BaseUrl.AbsoluteUri),
        new("Qianbao:Channels:bank:Secret", FakeBankConnector.Secret),
        new("Qianbao:Channels:bank:TimeoutMs", "2000"),
    ];

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Clock);

    protected override void Started() => Bank.CallbackClient = Factory.CreateClient();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Bank.DisposeAsync();
    }
}

public sealed class SqliteChannelHost() : ChannelHost(DatabaseEngine.Sqlite);

public sealed class PostgresChannelHost() : ChannelHost(DatabaseEngine.Postgres);
