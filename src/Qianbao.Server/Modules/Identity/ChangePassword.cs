using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Messaging;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>POST /v1/me/password</c> <c>{current_password, new_password}</c> → 204: sets a new password and revokes every
/// other session (whoever else was signed in is signed out; the caller stays). A wrong current password is 403
/// <c>invalid_current_password</c> and counts toward the same 5-in-a-row lock as logins, so a stolen access token
/// cannot be used to guess the password either. The person is told by SMS.
/// </summary>
internal static class ChangePassword
{
    public sealed record Request(string? CurrentPassword, string? NewPassword);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/me/password", HandleAsync).RequireUser().WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, PasswordHasher hasher, Sessions sessions, LoginThrottle throttle,
        SecurityEvents events, UserData data, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!RegisterUser.IsValidPassword(request!.NewPassword))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPassword, $"new_password must be {RegisterUser.PasswordLengthMin}-{RegisterUser.PasswordLengthMax} characters.");
        var caller = http.Session();
        var address = http.ClientAddress();

        await using var connection = await db.OpenAsync(ct);
        var user = await connection.QuerySingleOrDefaultAsync<(string? PhoneEnc, string PasswordHash, long? LockedUntilUs, string Locale)?>(new CommandDefinition(
            "SELECT phone_enc, password_hash, login_locked_until_us, locale FROM users WHERE id = @id", new { id = caller.UserId }, cancellationToken: ct));
        if (user is not { } u) return ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "The account no longer exists.");
        if (throttle.Remaining(u.LockedUntilUs) is { } lockLeft) return LoginThrottle.Locked(lockLeft);
        if (request.CurrentPassword is not { Length: <= RegisterUser.PasswordLengthMax } || !hasher.Verify(request.CurrentPassword, u.PasswordHash))
        {
            await using var failTx = await connection.BeginTransactionAsync(ct);
            var lockedUntil = await throttle.CountFailureAsync(connection, failTx, caller.UserId, ct);
            await events.AppendAsync(connection, failTx, caller.UserId, SecurityEventKind.LoginFailed, null, address, "wrong current password", ct);
            if (lockedUntil is not null)
                await events.AppendAsync(connection, failTx, caller.UserId, SecurityEventKind.LoginLocked, null, address,
                    $"{LoginThrottle.FailuresMax} wrong passwords in a row; locked for {(int)LoginThrottle.LockDuration.TotalMinutes} minutes", ct);
            await failTx.CommitAsync(ct);
            return lockedUntil is not null ? LoginThrottle.Locked(LoginThrottle.LockDuration)
                : ApiProblem.Forbidden(ErrorCodes.InvalidCurrentPassword, "current_password is wrong.");
        }

        var hash = hasher.Hash(request.NewPassword!);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET password_hash = @hash, login_failures = 0 WHERE id = @id", new { hash, id = caller.UserId }, tx, cancellationToken: ct));
        var revoked = await sessions.RevokeAllAsync(connection, tx, caller.UserId, except: caller.SessionId, RevokeReason.PasswordChanged, ct);
        await events.AppendAsync(connection, tx, caller.UserId, SecurityEventKind.PasswordChanged, null, address,
            $"{revoked.Count} other session(s) signed out", ct, SecurityAlert.PasswordChanged);
        await tx.CommitAsync(ct);
        sessions.Published(revoked);
        return Results.NoContent();
    }
}
