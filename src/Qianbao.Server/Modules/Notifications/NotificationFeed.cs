using System.Collections.Concurrent;
using System.Data.Common;
using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// Tells open streams that a person has something new. In this process a per-person signal (raised inside the writing
/// transaction, so a stream that finds nothing yet looks again shortly); on PostgreSQL also <c>pg_notify</c> inside the
/// transaction, which PostgreSQL delivers at commit to every listening process (the stream LISTENs on its own connection).
/// </summary>
internal sealed class NotificationFeed(Db db)
{
    public const string PgChannel = "qianbao_notifications";

    private readonly ConcurrentDictionary<Guid, SignalSet> waiters = new();

    public async Task PublishAsync(DbConnection connection, DbTransaction tx, Guid userId, CancellationToken ct)
    {
        if (db.Engine == DatabaseEngine.Postgres)
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_notify(@channel, @user)", new { channel = PgChannel, user = userId.ToString() }, tx,
                cancellationToken: ct));
        Raise(userId);
    }

    /// <summary><see cref="PublishAsync"/> for many people: one <c>pg_notify</c> statement for all of them.</summary>
    public async Task PublishManyAsync(DbConnection connection, DbTransaction tx, IReadOnlyCollection<Guid> userIds, CancellationToken ct)
    {
        if (userIds.Count == 0) return;
        if (db.Engine == DatabaseEngine.Postgres)
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_notify(@channel, u) FROM unnest(@users::text[]) AS u",
                new { channel = PgChannel, users = userIds.Select(u => u.ToString()).ToArray() }, tx, cancellationToken: ct));
        foreach (var userId in userIds) Raise(userId);
    }

    /// <summary>Wakes this process's streams of <paramref name="userId"/>.</summary>
    public void Raise(Guid userId)
    {
        if (waiters.TryGetValue(userId, out var set)) set.Raise();
    }

    /// <summary>A subscription to a person's signal; dispose it when the stream ends.</summary>
    public Subscription Subscribe(Guid userId)
    {
        var set = waiters.GetOrAdd(userId, _ => new SignalSet());
        var sub = new Subscription(this, userId, set);
        set.Add(sub);
        return sub;
    }

    private void Remove(Guid userId, Subscription sub)
    {
        // The person's set stays (a few bytes): removing it could race a stream subscribing at the same moment.
        if (waiters.TryGetValue(userId, out var set)) set.Remove(sub);
    }

    private sealed class SignalSet
    {
        private readonly List<Subscription> subs = [];

        public void Add(Subscription s) { lock (subs) subs.Add(s); }

        /// <summary>True when the set is now empty.</summary>
        public bool Remove(Subscription s) { lock (subs) { subs.Remove(s); return subs.Count == 0; } }

        public void Raise() { lock (subs) foreach (var s in subs) s.Release(); }
    }

    internal sealed class Subscription(NotificationFeed feed, Guid userId, object owner) : IDisposable
    {
        private readonly SemaphoreSlim signal = new(0, 1);

        public object Owner { get; } = owner;

        public void Release()
        {
            try { signal.Release(); }
            catch (SemaphoreFullException) { /* already pending */ }
        }

        /// <summary>True when signalled within <paramref name="timeout"/>.</summary>
        public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => signal.WaitAsync(timeout, ct);

        public void Dispose() => feed.Remove(userId, this);
    }
}
