using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>
/// <c>POST /merchant/v1/auth/token</c> <c>{email, password, totp}</c> → 200 <c>{access_token, token_type, expires_in, merchant_id,
/// staff_id, role}</c> (<c>Cache-Control: no-store</c>). An <c>admin</c> needs the TOTP code too (not with
/// <c>Qianbao:Security:Relaxed</c>), accepted once; other roles may give none. Any failure — unknown e-mail, disabled, wrong
/// password or code — is the same 401 <c>invalid_credentials</c> at the same cost (unknown accounts verify a decoy hash).
/// Lockout as users' logins: <see cref="LoginThrottle.FailuresMax"/> failures in a row lock the login for
/// <see cref="LoginThrottle.LockDuration"/> (429 <c>too_many_attempts</c>, the right password refused too, unhashed); a
/// success resets the count. Unknown e-mails are counted in the shared rate counters so they lock alike; logins per client
/// address are limited as users' are.
/// </summary>
internal static class IssueMerchantToken
{
    public sealed record Request(string? Email, string? Password, string? Totp);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/merchant/v1/auth/token", HandleAsync).WithTags("Merchant");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, PasswordHasher hasher, RateCounters rates, MerchantTokens tokens,
        MerchantStaffData data, SecurityOptions security, LoginThrottle throttle, TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        // The same per-address limit as users' logins (Qianbao:Security:LoginsPerAddressPerMinuteMax).
        if (await throttle.CheckAddressAsync(http, ct) is { } tooMany) return tooMany;
        if (!OperatorCredentials.TryNormalizeEmail(request!.Email, out var email) || request.Password is not { Length: <= OperatorCredentials.PasswordLengthMax })
            return InvalidCredentials();
        var index = data.EmailIndex(email);
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition("""
            SELECT id, merchant_id, role, password_hash, totp_secret, totp_last_step, locked_until_us, disabled_at_us FROM merchant_staff WHERE email = @index
            """, new { index }, cancellationToken: ct));
        if (row is null)
        {
            // Counted like a known login's failures, so a guesser cannot tell unknown addresses by the lock.
            var unknown = await rates.HitAsync("merchant-login-unknown:" + index, LoginThrottle.LockDuration, LoginThrottle.FailuresMax, ct);
            hasher.Verify(request.Password, hasher.DecoyHash);
            return unknown.Allowed ? InvalidCredentials() : LoginThrottle.Locked(unknown.RetryAfter);
        }
        if (row.locked_until_us is { } until && until > nowUs) return LoginThrottle.Locked(TimeSpan.FromMicroseconds(until - nowUs));

        var ok = hasher.Verify(request.Password, row.password_hash) && row.disabled_at_us is null && MerchantRoles.TryParse(row.role, out _);
        MerchantRoles.TryParse(row.role, out var role);
        long? step = null;
        if (ok && role == MerchantRole.Admin && !security.Relaxed)
        {
            step = row.totp_secret is null ? null : OperatorCredentials.MatchTotp(row.totp_secret, request.Totp, row.totp_last_step, clock.GetUtcNow());
            ok = step is not null;
        }
        await using var tx = await connection.BeginTransactionAsync(ct);
        if (ok && step is not null)
        {
            // One conditional UPDATE: of two concurrent uses of one code, only one passes.
            ok = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE merchant_staff SET totp_last_step = @step WHERE id = @id AND (totp_last_step IS NULL OR totp_last_step < @step)",
                new { step, id = row.id }, tx, cancellationToken: ct)) == 1;
        }
        if (ok)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE merchant_staff SET failed_logins = 0, locked_until_us = NULL WHERE id = @id AND failed_logins <> 0", new { id = row.id }, tx, cancellationToken: ct));
        }
        else
        {
            var failures = await connection.QuerySingleAsync<long>(new CommandDefinition(
                "UPDATE merchant_staff SET failed_logins = failed_logins + 1 WHERE id = @id RETURNING failed_logins", new { id = row.id }, tx, cancellationToken: ct));
            if (failures >= LoginThrottle.FailuresMax)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE merchant_staff SET failed_logins = 0, locked_until_us = @until WHERE id = @id",
                    new { id = row.id, until = nowUs + (long)LoginThrottle.LockDuration.TotalMicroseconds }, tx, cancellationToken: ct));
            }
        }
        await tx.CommitAsync(ct);
        if (!ok) return InvalidCredentials();

        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.Pragma = "no-cache";
        return Results.Json(new
        {
            access_token = tokens.Issue(new MerchantPrincipal(row.id, row.merchant_id, role)),
            token_type = "Bearer",
            expires_in = (long)tokens.Lifetime.TotalSeconds,
            merchant_id = row.merchant_id,
            staff_id = row.id,
            role = row.role,
        }, JsonDefaults.Options);
    }

    private static IResult InvalidCredentials() => ApiProblem.Unauthorized(ErrorCodes.InvalidCredentials, "E-mail, password or TOTP code is wrong.");

    private sealed class Row
    {
        public Guid id { get; init; }
        public Guid merchant_id { get; init; }
        public string role { get; init; } = "";
        public string password_hash { get; init; } = "";
        public string? totp_secret { get; init; }
        public long? totp_last_step { get; init; }
        public long? locked_until_us { get; init; }
        public long? disabled_at_us { get; init; }
    }
}
