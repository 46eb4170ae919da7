using System.Data.Common;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// What stops password guessing, all of it decided before a password is hashed: at most
/// <c>Qianbao:Security:LoginsPerAddressPerMinuteMax</c> logins a minute per client address (429 <c>too_many_requests</c>), and
/// <see cref="FailuresMax"/> wrong passwords in a row lock the phone for <see cref="LockDuration"/> (429
/// <c>too_many_attempts</c>; the right password is refused too, without hashing it). A success resets the count.
/// Unknown phones are counted too, in fixed 15-minute windows of the shared rate counters, so they lock like
/// registered ones and a guesser cannot tell them apart by the lock.
/// The per-address limit is off with <c>Qianbao:Security:Relaxed</c> (load tests log thousands of users in from one
/// address) and for connections without an IP address (the in-process test server).
/// </summary>
internal sealed class LoginThrottle(RateCounters rates, SecurityOptions security, TimeProvider clock, UserData data)
{
    public const int FailuresMax = 5;
    public static readonly TimeSpan LockDuration = TimeSpan.FromMinutes(15);

    /// <summary>Counts a login from the caller's address; the problem to answer when over the limit.</summary>
    public async Task<IResult?> CheckAddressAsync(HttpContext http, CancellationToken ct)
    {
        if (security.Relaxed || http.ClientAddress() is not { } address) return null;
        var decision = await rates.HitAsync("login-addr:" + address, TimeSpan.FromMinutes(1), security.LoginsPerAddressPerMinuteMax, ct);
        return decision.Allowed ? null
            : ApiProblem.TooMany(ErrorCodes.TooManyRequests, $"At most {security.LoginsPerAddressPerMinuteMax} logins a minute from one address.", decision.RetryAfter);
    }

    /// <summary>How long an unknown phone stays locked, or null when it is not.</summary>
    public async Task<TimeSpan?> UnknownPhoneLockedAsync(string phone, CancellationToken ct) =>
        await rates.CountAsync(UnknownKey(phone), LockDuration, ct) >= FailuresMax ? WindowLeft() : null;

    /// <summary>Counts a wrong password for an unknown phone; how long it is now locked, or null.</summary>
    public async Task<TimeSpan?> CountUnknownPhoneFailureAsync(string phone, CancellationToken ct)
    {
        var decision = await rates.HitAsync(UnknownKey(phone), LockDuration, FailuresMax - 1, ct);
        return decision.Allowed ? null : decision.RetryAfter;
    }

    /// <summary>
    /// Counts a wrong password for <paramref name="userId"/> in the caller's transaction; when it is the
    /// <see cref="FailuresMax"/>th in a row, locks the account and returns until when (Unix microseconds).
    /// </summary>
    public async Task<long?> CountFailureAsync(DbConnection connection, DbTransaction tx, Guid userId, CancellationToken ct)
    {
        var untilUs = clock.GetUtcNow().Add(LockDuration).ToUnixMicroseconds();
        var lockedUntil = await connection.ExecuteScalarAsync<long?>(new CommandDefinition("""
            UPDATE users SET
                login_failures = CASE WHEN login_failures + 1 >= @max THEN 0 ELSE login_failures + 1 END,
                login_locked_until_us = CASE WHEN login_failures + 1 >= @max THEN @untilUs ELSE login_locked_until_us END
            WHERE id = @userId
            RETURNING login_locked_until_us
            """, new { userId, max = FailuresMax, untilUs }, tx, cancellationToken: ct));
        return lockedUntil == untilUs ? untilUs : null;
    }

    /// <summary>How long the lock ending at <paramref name="lockedUntilUs"/> still lasts, or null when it is over.</summary>
    public TimeSpan? Remaining(long? lockedUntilUs)
    {
        var nowUs = clock.GetUnixMicroseconds();
        return lockedUntilUs is { } until && until > nowUs ? TimeSpan.FromMicroseconds(until - nowUs) : null;
    }

    /// <summary>Forgets the wrong passwords in a row after a success (a no-op write is skipped).</summary>
    public static Task ResetAsync(DbConnection connection, DbTransaction tx, Guid userId, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET login_failures = 0 WHERE id = @userId AND login_failures <> 0", new { userId }, tx, cancellationToken: ct));

    public static IResult Locked(TimeSpan retryAfter) =>
        ApiProblem.TooMany(ErrorCodes.TooManyAttempts, $"Too many wrong passwords: this phone is locked for {(int)LockDuration.TotalMinutes} minutes.", retryAfter);

    // The shared counters are a table too: the phone is named by its blind index there, never in clear.
    private string UnknownKey(string phone) => "login-unknown:" + data.PhoneIndex(phone);

    private TimeSpan WindowLeft()
    {
        var nowUs = clock.GetUnixMicroseconds();
        var windowUs = (long)LockDuration.TotalMicroseconds;
        return TimeSpan.FromMicroseconds(windowUs - nowUs % windowUs);
    }
}
