using System.Collections.Concurrent;
using Dapper;
using Npgsql;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Identity.Tiers;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// What the spending path needs of a person, as the users row held it: the tier, whether the account is open, the payment
/// PIN's keyed hash and whether its wrong-try state is clean (no wrong PIN counted, no lock).
/// </summary>
internal readonly record struct UserState(UserTier Tier, bool Open, string? PinHash, bool PinClean, long ReadAtUs);

/// <summary>
/// The spending path's view of people kept in memory (issue 13): the PIN check of a right PIN, the spender's and the recipient's
/// tier and the recipient's existence are answered without a database round trip per request.
/// <para>
/// Kept current: every change of those columns calls <see cref="ChangedAsync"/> after its commit, which forgets the person here
/// and, on PostgreSQL, sends <c>NOTIFY qianbao_users</c> with the user id; <see cref="UserStatesListener"/> forgets it in every
/// other process. While that LISTEN is not in place (start, a broken connection) nothing is served from memory, and when it is
/// (again) everything read before is dropped. A read that raced with a change is not kept (<see cref="Generation"/>). An entry
/// is also re-read after <see cref="MaxAge"/>, which bounds a lost notification. SQLite serves one server process
/// (README: several processes only share PostgreSQL), so there the local forgetting is all it takes.
/// </para>
/// <para>
/// Only a clean PIN state is trusted from memory, and only to accept the right PIN: a wrong PIN, a lock, a PIN not set, all go
/// to the database's statement as before (<see cref="Pins.PaymentPins"/>), which counts and decides. Bound:
/// <see cref="SizeMax"/> people (then cleared).
/// </para>
/// </summary>
internal sealed class UserStates(Db db, TimeProvider clock, ILogger<UserStates> logger)
{
    public const string NotifyChannel = "qianbao_users";
    public const int SizeMax = 200_000;
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<Guid, UserState> states = new();
    private long generation;
    private volatile bool live = db.Engine == DatabaseEngine.Sqlite;

    /// <summary>Bumped by every change seen; a read that began before a bump is not kept.</summary>
    public long Generation => Interlocked.Read(ref generation);

    public bool TryGet(Guid userId, out UserState state)
    {
        if (live && states.TryGetValue(userId, out state) && clock.GetUnixMicroseconds() - state.ReadAtUs < (long)MaxAge.TotalMicroseconds) return true;
        state = default;
        return false;
    }

    /// <summary>The state of <paramref name="userId"/>, from memory or one read; null when there is no such user.</summary>
    public async Task<UserState?> GetAsync(Guid userId, CancellationToken ct)
    {
        if (TryGet(userId, out var known)) return known;
        var before = Generation;
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            "SELECT tier, closed_at_us, pin_hash, CAST(pin_failures AS bigint) AS failures, pin_locked_until_us AS locked_until_us FROM users WHERE id = @userId",
            new { userId }, cancellationToken: ct));
        if (row is null) return null;
        var state = new UserState(UserTiers.FromStored(row.tier), row.closed_at_us is null, row.pin_hash,
            row is { failures: 0, locked_until_us: null }, clock.GetUnixMicroseconds());
        Keep(userId, state, before);
        return state;
    }

    /// <summary>Keeps <paramref name="state"/>, read after <see cref="Generation"/> was <paramref name="generationBefore"/>, unless a change came in between.</summary>
    public void Keep(Guid userId, UserState state, long generationBefore)
    {
        if (!live) return;
        if (states.Count >= SizeMax) states.Clear();
        states[userId] = state;
        // A change that arrived during the read (or just now) wins: drop what may be older than it.
        if (Generation != generationBefore) states.TryRemove(userId, out _);
    }

    /// <summary>
    /// After a commit that changed the person's tier, closed flag or PIN state: forgets it here and tells the other server
    /// processes. Never throws (the change is committed; a lost notice is bounded by <see cref="MaxAge"/>).
    /// </summary>
    public async Task ChangedAsync(Guid userId)
    {
        Forget(userId);
        if (db.Engine != DatabaseEngine.Postgres) return;
        try
        {
            await using var connection = await db.OpenAsync(CancellationToken.None);
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_notify(@channel, @id)",
                new { channel = NotifyChannel, id = userId.ToString("N") }));
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Could not notify other server processes that user {UserId} changed; they re-read it within {MaxAge}", userId, MaxAge);
        }
    }

    /// <summary>Drops one person (a change seen).</summary>
    public void Forget(Guid userId)
    {
        Interlocked.Increment(ref generation);
        states.TryRemove(userId, out _);
    }

    /// <summary>Whether entries may be served (PostgreSQL: while the LISTEN is in place); every change resets what is held.</summary>
    internal void SetLive(bool isLive)
    {
        live = isLive || db.Engine == DatabaseEngine.Sqlite;
        Interlocked.Increment(ref generation);
        states.Clear();
    }

    private sealed class Row
    {
        public long tier { get; init; }
        public long? closed_at_us { get; init; }
        public string? pin_hash { get; init; }
        public long failures { get; init; }
        public long? locked_until_us { get; init; }
    }
}

/// <summary>
/// On PostgreSQL: holds <c>LISTEN qianbao_users</c>, the one channel for everything kept in memory of people, and forgets each
/// person another process changed in <see cref="UserStates"/> and <see cref="MaskedNameCache"/>; both serve from memory only
/// while it is in place. A connection that breaks is noticed at the next probe (every <see cref="ProbeInterval"/>) or read.
/// </summary>
internal sealed class UserStatesListener(Db db, UserStates states, MaskedNameCache maskedNames, TimeProvider clock,
    ILogger<UserStatesListener> logger) : BackgroundService
{
    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        if (db.Engine != DatabaseEngine.Postgres) return;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await using var connection = await db.OpenForListenAsync(stop);
                    connection.Notification += (_, e) =>
                    {
                        if (Guid.TryParseExact(e.Payload, "N", out var id)) Forget(id);
                        else SetLive(true); // not ours to parse: forget everyone
                    };
                    await using (var listen = new NpgsqlCommand($"LISTEN {UserStates.NotifyChannel}", connection)) await listen.ExecuteNonQueryAsync(stop);
                    // Changes committed while no LISTEN was in place: forget whatever was read before.
                    SetLive(true);
                    try
                    {
                        while (!stop.IsCancellationRequested)
                        {
                            if (await connection.WaitAsync(ProbeInterval, stop)) continue;
                            await using var probe = new NpgsqlCommand("SELECT 1", connection);
                            await probe.ExecuteScalarAsync(stop);
                        }
                    }
                    finally
                    {
                        SetLive(false);
                    }
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "LISTEN {Channel} broke; people are read from the database until it is back", UserStates.NotifyChannel);
                    await Task.Delay(Retry, clock, stop);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private void Forget(Guid userId)
    {
        states.Forget(userId);
        maskedNames.Forget(userId);
    }

    private void SetLive(bool listening)
    {
        states.SetLive(listening);
        maskedNames.Restart(listening);
    }
}
