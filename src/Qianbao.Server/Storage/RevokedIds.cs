using System.Collections.Concurrent;
using Dapper;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Storage;

/// <summary>
/// Ids whose bearer tokens must be refused although the tokens are still unexpired (revoked sessions, disabled
/// operators), kept in memory so an access filter refuses them without a database read per request. The revoking process
/// adds its own at once; a <see cref="RevokedIdsWatcher"/> adds every other process's within about a second. An entry is
/// dropped once every token it could concern has expired.
/// </summary>
internal abstract class RevokedIds
{
    private readonly ConcurrentDictionary<Guid, long> revokedAtUs = new();

    public bool Contains(Guid id) => !revokedAtUs.IsEmpty && revokedAtUs.ContainsKey(id);

    public void Add(Guid id, long atUs) => revokedAtUs.TryAdd(id, atUs);

    public int Count => revokedAtUs.Count;

    /// <summary>Forgets revocations older than <paramref name="beforeUs"/> (their tokens have all expired).</summary>
    public void Prune(long beforeUs)
    {
        foreach (var (id, at) in revokedAtUs)
            if (at < beforeUs) revokedAtUs.TryRemove(id, out _);
    }
}

/// <summary>
/// Keeps a <see cref="RevokedIds"/> current with revocations made by any process on the database: at start it loads those
/// within one token lifetime, then every <see cref="PollInterval"/> those stamped after the newest it has seen, less
/// <see cref="Overlap"/> (a revocation committed late, or stamped by a process whose clock lags, is still caught, provided
/// the servers' clocks agree within the overlap). One indexed query a second per process.
/// </summary>
/// <param name="sql">Selects <c>(id, revoked_at_us)</c> of the owning module's table with <c>… &gt; @sinceUs</c>; the module owns its SQL.</param>
internal abstract class RevokedIdsWatcher(Db db, RevokedIds revoked, TimeSpan tokenLifetime, TimeProvider clock, ILogger logger, string what, string sql)
    : BackgroundService
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Overlap = TimeSpan.FromSeconds(60);
    private long watermarkUs;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the first request: a token revoked a minute ago on another process must not pass here.
        watermarkUs = clock.GetUnixMicroseconds() - (long)tokenLifetime.TotalMicroseconds;
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
                revoked.Prune(clock.GetUnixMicroseconds() - (long)(tokenLifetime + Overlap).TotalMicroseconds);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Loading {What} failed; trying again next interval", what);
            }
        }
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<(Guid Id, long RevokedAtUs)>(new CommandDefinition(sql,
            new { sinceUs = watermarkUs - (long)Overlap.TotalMicroseconds }, cancellationToken: ct));
        foreach (var (id, at) in rows)
        {
            revoked.Add(id, at);
            if (at > watermarkUs) watermarkUs = at;
        }
    }
}
