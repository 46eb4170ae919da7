using System.Collections.Concurrent;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// The sessions revoked while their access tokens may still be unexpired, kept in memory so the
/// <see cref="Authentication.RequireUser{TBuilder}"/> filter refuses them without a database read per request.
/// This process adds its own revocations at once; <see cref="RevocationWatcher"/> adds every other process's within
/// about a second. An entry is dropped once every token of its session has expired.
/// </summary>
internal sealed class RevokedSessions
{
    private readonly ConcurrentDictionary<Guid, long> revokedAtUs = new();

    public bool Contains(Guid sessionId) => !revokedAtUs.IsEmpty && revokedAtUs.ContainsKey(sessionId);

    public void Add(Guid sessionId, long atUs) => revokedAtUs.TryAdd(sessionId, atUs);

    public int Count => revokedAtUs.Count;

    /// <summary>Forgets revocations older than <paramref name="beforeUs"/> (their sessions' tokens have all expired).</summary>
    public void Prune(long beforeUs)
    {
        foreach (var (id, at) in revokedAtUs)
            if (at < beforeUs) revokedAtUs.TryRemove(id, out _);
    }
}

/// <summary>
/// Keeps <see cref="RevokedSessions"/> current with revocations made by any process on the database: at start it loads
/// those within one access-token lifetime, then every <see cref="PollInterval"/> those stamped after the newest it has
/// seen, less <see cref="Overlap"/> (a revocation committed late, or stamped by a process whose clock lags, is still
/// caught, provided the servers' clocks agree within the overlap). One indexed query a second per process.
/// </summary>
internal sealed class RevocationWatcher(Db db, RevokedSessions revoked, TokenService tokens, TimeProvider clock, ILogger<RevocationWatcher> logger)
    : BackgroundService
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Overlap = TimeSpan.FromSeconds(60);
    private long watermarkUs;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the first request: a token revoked a minute ago on another process must not pass here.
        watermarkUs = clock.GetUnixMicroseconds() - (long)tokens.Lifetime.TotalMicroseconds;
        await LoadAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(PollInterval, clock, stoppingToken);
                await LoadAsync(stoppingToken);
                revoked.Prune(clock.GetUnixMicroseconds() - (long)(tokens.Lifetime + Overlap).TotalMicroseconds);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Loading revoked sessions failed; trying again next interval");
            }
        }
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<(Guid Id, long RevokedAtUs)>(new CommandDefinition(
            "SELECT id, revoked_at_us FROM sessions WHERE revoked_at_us > @sinceUs",
            new { sinceUs = watermarkUs - (long)Overlap.TotalMicroseconds }, cancellationToken: ct));
        foreach (var (id, at) in rows)
        {
            revoked.Add(id, at);
            if (at > watermarkUs) watermarkUs = at;
        }
    }
}
