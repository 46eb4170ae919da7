using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Messaging;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>POST /v1/auth/token</c> <c>{phone, password, device_id}</c> → 200 <c>{access_token, refresh_token, token_type,
/// expires_in, session_id}</c> (<c>Cache-Control: no-store</c>). A device the user has not logged in from before gets
/// 401 <c>device_verification_required</c> with a <c>verification_id</c> (the code goes by SMS); the same request with
/// <c>verification_id</c> and <c>code</c> then logs in, records the device and tells the person by SMS. Limits
/// (<see cref="LoginThrottle"/>) are checked before the password is hashed. With <c>Qianbao:Security:Relaxed</c>
/// <c>device_id</c> is optional (<see cref="Devices.RelaxedDefault"/>) and no device needs a code.
/// </summary>
internal static class IssueToken
{
    public sealed record Request(string? Phone, string? Password, string? DeviceId = null, string? VerificationId = null, string? Code = null);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/auth/token", HandleAsync).WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, PasswordHasher hasher, TokenService tokens, Sessions sessions,
        LoginThrottle throttle, Verifications verifications, SecurityEvents events, SecurityOptions security, TimeProvider clock,
        UserData data, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        var deviceId = request!.DeviceId ?? (security.Relaxed ? Devices.RelaxedDefault : null);
        if (!Devices.IsValidId(deviceId))
            return ApiProblem.BadRequest(ErrorCodes.InvalidDeviceId, $"device_id must be 1-{Devices.IdLengthMax} printable characters naming this installation.");
        if (request.Password is null || request.Password.Length > RegisterUser.PasswordLengthMax || !PhoneNumber.TryNormalize(request.Phone, out var phone))
            return InvalidCredentials();
        if (await throttle.CheckAddressAsync(http, ct) is { } limited) return limited;

        var address = http.ClientAddress();
        await using var connection = await db.OpenAsync(ct);
        var user = await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition(
            "SELECT id, password_hash, login_locked_until_us, locale FROM users WHERE phone = @index", new { index = data.PhoneIndex(phone) }, cancellationToken: ct));
        if (user is null)
        {
            // Unknown phones lock like known ones and cost the same decoy hash, so neither timing nor the lock tells them apart.
            if (await throttle.UnknownPhoneLockedAsync(phone, ct) is { } wait) return LoginThrottle.Locked(wait);
            hasher.Verify(request.Password, hasher.DecoyHash);
            return await throttle.CountUnknownPhoneFailureAsync(phone, ct) is { } locked ? LoginThrottle.Locked(locked) : InvalidCredentials();
        }
        if (throttle.Remaining(user.login_locked_until_us) is { } lockLeft) return LoginThrottle.Locked(lockLeft);

        if (!hasher.Verify(request.Password, user.password_hash))
        {
            await using var failTx = await connection.BeginTransactionAsync(ct);
            var lockedUntil = await throttle.CountFailureAsync(connection, failTx, user.id, ct);
            await events.AppendAsync(connection, failTx, user.id, SecurityEventKind.LoginFailed, deviceId, address, null, ct);
            if (lockedUntil is not null)
                await events.AppendAsync(connection, failTx, user.id, SecurityEventKind.LoginLocked, deviceId, address,
                    $"{LoginThrottle.FailuresMax} wrong passwords in a row; locked for {(int)LoginThrottle.LockDuration.TotalMinutes} minutes", ct);
            await failTx.CommitAsync(ct);
            return lockedUntil is not null ? LoginThrottle.Locked(LoginThrottle.LockDuration) : InvalidCredentials();
        }

        var newDevice = await Devices.FirstSeenAsync(connection, null, user.id, deviceId!, ct) is null;
        if (newDevice && !security.Relaxed)
        {
            if (request.VerificationId is null && request.Code is null)
            {
                var issue = await verifications.IssueAsync(phone, VerificationPurpose.Login, user.id, user.locale, send: true, ct);
                if (!issue.Issued) return ApiProblem.TooMany(ErrorCodes.TooManyRequests, "Too many codes for this phone; try again later.", issue.RetryAfter);
                return ApiProblem.WithExtensions(StatusCodes.Status401Unauthorized, ErrorCodes.DeviceVerificationRequired, "Authentication is required.",
                    "This device is new to the account: send the same request again with verification_id and the code sent by SMS.",
                    new Dictionary<string, object?> { ["verification_id"] = issue.Id });
            }
            if (!Verifications.TryParseId(request.VerificationId, out var verificationId))
                return ApiProblem.BadRequest(ErrorCodes.InvalidVerification, "verification_id must be the one device_verification_required answered.");
            if (!await verifications.ConsumeAsync(verificationId, request.Code, phone, VerificationPurpose.Login, ct))
                return ApiProblem.Unprocessable(ErrorCodes.InvalidVerificationCode, "The code is wrong, used or expired; log in again for a new one.");
        }

        // The device, the session, the events and the new-device SMS commit together.
        await using var tx = await connection.BeginTransactionAsync(ct);
        await LoginThrottle.ResetAsync(connection, tx, user.id, ct);
        var firstSeenUs = await Devices.RecordAsync(connection, tx, user.id, deviceId!, clock, ct);
        if (newDevice)
        {
            // Relaxed servers never proved the phone, so they send it nothing.
            await events.AppendAsync(connection, tx, user.id, SecurityEventKind.NewDevice, deviceId, address, null, ct,
                security.Relaxed ? null : SecurityAlert.NewDeviceLogin(deviceId!));
        }
        var session = await sessions.CreateAsync(connection, tx, user.id, deviceId!, ct);
        await events.AppendAsync(connection, tx, user.id, SecurityEventKind.Login, deviceId, address, null, ct);
        await tx.CommitAsync(ct);

        return TokenAnswer(http, tokens, new UserSession(user.id, session.SessionId, firstSeenUs / 1_000_000), session.RefreshToken);
    }

    /// <summary>The token pair; never cached by anything between us and the client.</summary>
    public static IResult TokenAnswer(HttpContext http, TokenService tokens, UserSession session, string refreshToken)
    {
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.Pragma = "no-cache";
        return Results.Json(new
        {
            access_token = tokens.Issue(session),
            refresh_token = refreshToken,
            token_type = "Bearer",
            expires_in = (long)tokens.Lifetime.TotalSeconds,
            session_id = session.SessionId,
        }, JsonDefaults.Options);
    }

    private static IResult InvalidCredentials() => ApiProblem.Unauthorized(ErrorCodes.InvalidCredentials, "Phone or password is wrong.");

    private sealed class UserRow
    {
        public Guid id { get; init; }
        public string password_hash { get; init; } = "";
        public long? login_locked_until_us { get; init; }
        public string locale { get; init; } = MessageTemplates.DefaultLocale;
    }
}
