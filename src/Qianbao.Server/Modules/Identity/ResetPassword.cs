using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Messaging;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>POST /v1/auth/password-reset</c> <c>{phone, verification_id, code, new_password}</c> → 204: a forgotten password
/// is replaced with a code sent to the phone (purpose <c>reset_password</c>); every session is revoked and the login
/// lock is lifted (holding the phone is the proof the lock waits for). A wrong code, or a phone without an account
/// (no code was ever sent to it), is 422 <c>invalid_verification_code</c> alike. The person is told by SMS.
/// </summary>
internal static class ResetPassword
{
    public sealed record Request(string? Phone, string? VerificationId, string? Code, string? NewPassword);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/auth/password-reset", HandleAsync).WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, PasswordHasher hasher, Sessions sessions, Verifications verifications,
        SecurityEvents events, UserData data, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!PhoneNumber.TryNormalize(request!.Phone, out var phone))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPhone, "phone must be a mobile number such as 13800138000 or +8613800138000.");
        if (!RegisterUser.IsValidPassword(request.NewPassword))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPassword, $"new_password must be {RegisterUser.PasswordLengthMin}-{RegisterUser.PasswordLengthMax} characters.");
        if (!Verifications.TryParseId(request.VerificationId, out var verificationId))
            return ApiProblem.BadRequest(ErrorCodes.InvalidVerification, "verification_id and code from POST /v1/verifications (purpose reset_password) are required.");
        if (!await verifications.ConsumeAsync(verificationId, request.Code, phone, VerificationPurpose.ResetPassword, ct))
            return WrongCode();

        var hash = hasher.Hash(request.NewPassword!);
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var user = await connection.QuerySingleOrDefaultAsync<(Guid Id, string Locale)?>(new CommandDefinition("""
            UPDATE users SET password_hash = @hash, login_failures = 0, login_locked_until_us = NULL WHERE phone = @phone
            RETURNING id, locale
            """, new { hash, phone = data.PhoneIndex(phone) }, tx, cancellationToken: ct));
        if (user is not { } u) return WrongCode();
        var revoked = await sessions.RevokeAllAsync(connection, tx, u.Id, except: null, RevokeReason.PasswordReset, ct);
        await events.AppendAsync(connection, tx, u.Id, SecurityEventKind.PasswordReset, null, http.ClientAddress(),
            $"{revoked.Count} session(s) signed out", ct, SecurityAlert.PasswordChanged);
        await tx.CommitAsync(ct);
        sessions.Published(revoked);
        return Results.NoContent();
    }

    private static IResult WrongCode() => ApiProblem.Unprocessable(ErrorCodes.InvalidVerificationCode, "The code is wrong, used or expired; ask for a new one.");
}
