namespace Qianbao.Server.Tests.Infrastructure;

/// <summary>
/// Two real server processes on one PostgreSQL database with the same configuration, as the cross-process tests need them
/// (state kept in memory per process and current by LISTEN/NOTIFY). Disposes both; if B fails to start, A is disposed too.
/// </summary>
public sealed class ServerPair : IAsyncDisposable
{
    private ServerPair(ServerProcess a, ServerProcess b) => (A, B) = (a, b);

    public ServerProcess A { get; }

    public ServerProcess B { get; }

    /// <param name="name">Names the temporary data directories (<c>qianbao-{name}-a-…</c>).</param>
    public static async Task<ServerPair> StartAsync(string postgres, string operatorKey, string name, IReadOnlyDictionary<string, string> configuration)
    {
        var a = await ServerProcess.StartAsync(new ServerSettings(Directory.CreateTempSubdirectory($"qianbao-{name}-a-").FullName, postgres, operatorKey,
            Configuration: configuration));
        try
        {
            var b = await ServerProcess.StartAsync(new ServerSettings(Directory.CreateTempSubdirectory($"qianbao-{name}-b-").FullName, postgres, operatorKey,
                Configuration: configuration));
            return new ServerPair(a, b);
        }
        catch
        {
            await a.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await B.DisposeAsync();
        await A.DisposeAsync();
    }
}
