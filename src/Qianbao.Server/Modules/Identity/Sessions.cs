using System.Data.Common;
using System.Security.Cryptography;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>Why a session was revoked; stored in <c>sessions.revoked_reason</c> by <see cref="Sessions.ReasonName"/>.</summary>
internal enum RevokeReason { Logout, Deleted, RefreshTokenReused, PasswordChanged, PasswordReset, AccountClosed }

/// <summary>A new login session: its id and the refresh token the client keeps (never stored, only its keyed hash).</summary>
internal readonly record struct NewSession(Guid SessionId, string RefreshToken);

internal enum RefreshOutcome { Rotated, Reused, Invalid }

/// <summary>The answer of <see cref="Sessions.RefreshAsync"/>: when rotated, the session the new access token speaks for and the new refresh token.</summary>
internal readonly record struct Refreshed(RefreshOutcome Outcome, UserSession Session, string? RefreshToken);

/// <summary>A session as <c>GET /v1/sessions</c> lists it.</summary>
internal readonly record struct SessionListing(Guid Id, string DeviceId, long CreatedAtUs, long LastSeenAtUs);

/// <summary>
/// Login sessions: one per successful login, holding the hash of its current refresh token (and of the one it
/// replaced, so a replayed token is recognised). Rotation is one conditional UPDATE, so of two requests presenting
/// the same refresh token only one rotates; the other is reuse and revokes the session. Every revocation is published
/// to <see cref="RevokedSessions"/> after its commit, so this process refuses the session's access tokens at once
/// (other processes learn it from <see cref="RevocationWatcher"/>).
/// </summary>
internal sealed class Sessions(Db db, IdentityKeys keys, TimeProvider clock, RevokedSessions revoked, SecurityEvents events)
{
    public const int RefreshTokenBytes = 32;
    public const int RefreshTokenLengthMax = 64;
    public const int ListedMax = 100;

    /// <summary>Records a session for <paramref name="userId"/> on <paramref name="deviceId"/> in the caller's transaction.</summary>
    public async Task<NewSession> CreateAsync(DbConnection connection, DbTransaction tx, Guid userId, string deviceId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var id = Guid.CreateVersion7(now);
        var token = NewRefreshToken();
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO sessions (id, user_id, device_id, refresh_hash, created_at_us, last_seen_at_us)
            VALUES (@id, @userId, @deviceId, @hash, @nowUs, @nowUs)
            """, new { id, userId, deviceId, hash = Hash(token), nowUs = now.ToUnixMicroseconds() }, tx, cancellationToken: ct));
        return new NewSession(id, token);
    }

    /// <summary>
    /// Rotates <paramref name="refreshToken"/>: a current token of a live session gets a new one (and the session's
    /// last-seen time moves); the token it replaced, presented again, revokes the session; anything else is invalid.
    /// </summary>
    public async Task<Refreshed> RefreshAsync(string? refreshToken, string? clientAddress, CancellationToken ct)
    {
        if (refreshToken is not { Length: > 0 and <= RefreshTokenLengthMax }) return new Refreshed(RefreshOutcome.Invalid, default, null);
        var hash = Hash(refreshToken);
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QueryFirstOrDefaultAsync<SessionRow>(new CommandDefinition("""
            SELECT s.id, s.user_id, s.device_id, s.refresh_hash, s.revoked_at_us, s.created_at_us, d.first_seen_at_us
            FROM sessions s LEFT JOIN devices d ON d.user_id = s.user_id AND d.device_id = s.device_id
            WHERE s.refresh_hash = @hash OR s.previous_hash = @hash
            """, new { hash }, cancellationToken: ct));
        if (row is null || row.revoked_at_us is not null) return new Refreshed(RefreshOutcome.Invalid, default, null);

        if (IdentityKeys.Same(row.refresh_hash, hash))
        {
            var next = NewRefreshToken();
            var rotated = await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE sessions SET previous_hash = refresh_hash, refresh_hash = @next, last_seen_at_us = @nowUs
                WHERE id = @id AND refresh_hash = @hash AND revoked_at_us IS NULL
                """, new { id = row.id, hash, next = Hash(next), nowUs = clock.GetUnixMicroseconds() }, cancellationToken: ct));
            if (rotated == 1)
            {
                var firstSeenUs = row.first_seen_at_us ?? row.created_at_us;
                return new Refreshed(RefreshOutcome.Rotated, new UserSession(row.user_id, row.id, firstSeenUs / 1_000_000), next);
            }
            // Another request rotated this very token a moment ago: the token was used twice.
        }
        await RevokeAsync(row.user_id, row.id, RevokeReason.RefreshTokenReused, row.device_id, clientAddress, ct);
        return new Refreshed(RefreshOutcome.Reused, default, null);
    }

    /// <summary>Revokes one of <paramref name="userId"/>'s sessions and records it; false when it has no such session.</summary>
    /// <returns>True when the session is the user's (revoked now or before).</returns>
    public async Task<bool> RevokeAsync(Guid userId, Guid sessionId, RevokeReason reason, string? deviceId, string? clientAddress, CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var revokedNow = await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE sessions SET revoked_at_us = @nowUs, revoked_reason = @reason
            WHERE id = @sessionId AND user_id = @userId AND revoked_at_us IS NULL
            """, new { sessionId, userId, nowUs, reason = ReasonName(reason) }, tx, cancellationToken: ct));
        if (revokedNow == 0)
        {
            var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM sessions WHERE id = @sessionId AND user_id = @userId", new { sessionId, userId }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return exists > 0;
        }
        await events.AppendAsync(connection, tx, userId, SecurityEventKind.SessionRevoked, deviceId, clientAddress,
            $"session {sessionId}: {ReasonName(reason)}", ct, SecurityAlert.SessionRevoked);
        await tx.CommitAsync(ct);
        revoked.Add(sessionId, nowUs);
        return true;
    }

    /// <summary>
    /// Revokes every live session of <paramref name="userId"/> but <paramref name="except"/> in the caller's transaction;
    /// the caller passes the ids to <see cref="Published"/> once it has committed.
    /// </summary>
    public async Task<IReadOnlyList<Guid>> RevokeAllAsync(DbConnection connection, DbTransaction tx, Guid userId, Guid? except, RevokeReason reason,
        CancellationToken ct)
    {
        var rows = await connection.QueryAsync<Guid>(new CommandDefinition("""
            UPDATE sessions SET revoked_at_us = @nowUs, revoked_reason = @reason
            WHERE user_id = @userId AND revoked_at_us IS NULL AND id <> @except
            RETURNING id
            """, new { userId, except = except ?? Guid.Empty, nowUs = clock.GetUnixMicroseconds(), reason = ReasonName(reason) }, tx, cancellationToken: ct));
        return rows.AsList();
    }

    /// <summary>Tells this process's filter about sessions revoked by a committed <see cref="RevokeAllAsync"/>.</summary>
    public void Published(IEnumerable<Guid> sessionIds)
    {
        var nowUs = clock.GetUnixMicroseconds();
        foreach (var id in sessionIds) revoked.Add(id, nowUs);
    }

    /// <summary>The user's live sessions, newest first (at most <see cref="ListedMax"/>).</summary>
    public async Task<IReadOnlyList<SessionListing>> ListAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<SessionListing>(new CommandDefinition($"""
            SELECT id AS Id, device_id AS DeviceId, created_at_us AS CreatedAtUs, last_seen_at_us AS LastSeenAtUs
            FROM sessions WHERE user_id = @userId AND revoked_at_us IS NULL
            ORDER BY created_at_us DESC LIMIT {ListedMax}
            """, new { userId }, cancellationToken: ct));
        return rows.AsList();
    }

    public static string ReasonName(RevokeReason reason) => reason switch
    {
        RevokeReason.Logout => "logout",
        RevokeReason.Deleted => "deleted",
        RevokeReason.RefreshTokenReused => "refresh_token_reused",
        RevokeReason.PasswordChanged => "password_changed",
        RevokeReason.PasswordReset => "password_reset",
        RevokeReason.AccountClosed => "account_closed",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    private static string NewRefreshToken() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(RefreshTokenBytes));

    private string Hash(string refreshToken) => IdentityKeys.Hash(keys.RefreshTokens, refreshToken);

    private sealed class SessionRow
    {
        public Guid id { get; init; }
        public Guid user_id { get; init; }
        public string device_id { get; init; } = "";
        public string refresh_hash { get; init; } = "";
        public long? revoked_at_us { get; init; }
        public long created_at_us { get; init; }
        public long? first_seen_at_us { get; init; }
    }
}
