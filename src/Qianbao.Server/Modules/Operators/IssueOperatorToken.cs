using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Operators.Audit;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Operators;

/// <summary>
/// <c>POST /admin/v1/auth/token</c> <c>{email, password, totp}</c> → 200 <c>{access_token, token_type, expires_in,
/// operator_id, role}</c> (<c>Cache-Control: no-store</c>). Any failure — unknown e-mail, an invitation not yet accepted, a
/// disabled operator, a wrong password, a wrong or already used TOTP code — is the same 401 <c>invalid_credentials</c>, at
/// the same cost (unknown accounts verify a decoy hash). A TOTP code is accepted once (<c>totp_last_step</c> only grows, in
/// one conditional UPDATE). At most <see cref="AttemptsPerWindowMax"/> attempts per e-mail per <see cref="AttemptsWindow"/>
/// (shared rate counters, counted before the password is hashed, so concurrent guesses cannot slip past): then 429
/// <c>too_many_attempts</c> with <c>Retry-After</c>. With the password and a 6-digit code both needed, that allows no useful
/// guessing. Logins and failures of known operators are audit entries.
/// </summary>
internal static class IssueOperatorToken
{
    public sealed record Request(string? Email, string? Password, string? Totp);

    public const int AttemptsPerWindowMax = 10;
    public static readonly TimeSpan AttemptsWindow = TimeSpan.FromMinutes(15);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/auth/token", HandleAsync).WithMetadata(new AnonymousOperatorRoute())
            .WithDescription("No operator credential: this is where an operator gets one.").WithTags("Operator");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, PasswordHasher hasher, RateCounters rates, OperatorTokens tokens,
        AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!OperatorCredentials.TryNormalizeEmail(request!.Email, out var email) || request.Password is not { Length: <= OperatorCredentials.PasswordLengthMax })
            return InvalidCredentials();
        var attempt = await rates.HitAsync("op-login:" + email, AttemptsWindow, AttemptsPerWindowMax, ct);
        if (!attempt.Allowed)
            return ApiProblem.TooMany(ErrorCodes.TooManyAttempts, $"At most {AttemptsPerWindowMax} logins per {(int)AttemptsWindow.TotalMinutes} minutes for one operator.",
                attempt.RetryAfter);

        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            "SELECT id, role, password_hash, totp_secret, totp_last_step, disabled_at_us FROM operators WHERE email = @email",
            new { email }, cancellationToken: ct));
        var usable = row is { password_hash: not null, totp_secret: not null, disabled_at_us: null };
        var passwordOk = hasher.Verify(request.Password, usable ? row!.password_hash! : hasher.DecoyHash) && usable;
        var address = http.Connection.RemoteIpAddress?.ToString();
        long? step = passwordOk ? OperatorCredentials.MatchTotp(row!.totp_secret!, request.Totp, row.totp_last_step, clock.GetUtcNow()) : null;

        await using var tx = await connection.BeginTransactionAsync(ct);
        var used = step is not null && await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE operators SET totp_last_step = @step
            WHERE id = @id AND disabled_at_us IS NULL AND (totp_last_step IS NULL OR totp_last_step < @step)
            """, new { step, id = row!.id }, tx, cancellationToken: ct)) == 1;
        if (row is not null)
            await audit.AppendAsync(connection, tx, new AuditEntry(row.id.ToString(), row.role, used ? "operator_login" : "operator_login_failed",
                row.id.ToString(), null, null, null, null, address), ct);
        await tx.CommitAsync(ct);
        if (!used || !OperatorRoles.TryParse(row!.role, out var role)) return InvalidCredentials();

        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.Pragma = "no-cache";
        return Results.Json(new
        {
            access_token = tokens.Issue(row.id, role),
            token_type = "Bearer",
            expires_in = (long)tokens.Lifetime.TotalSeconds,
            operator_id = row.id,
            role = row.role,
        }, JsonDefaults.Options);
    }

    private static IResult InvalidCredentials() => ApiProblem.Unauthorized(ErrorCodes.InvalidCredentials, "E-mail, password or TOTP code is wrong.");

    private sealed class Row
    {
        public Guid id { get; init; }
        public string role { get; init; } = "";
        public string? password_hash { get; init; }
        public string? totp_secret { get; init; }
        public long? totp_last_step { get; init; }
        public long? disabled_at_us { get; init; }
    }
}
