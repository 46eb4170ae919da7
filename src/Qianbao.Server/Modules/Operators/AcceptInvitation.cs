using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Operators.Audit;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Operators;

/// <summary>
/// <c>POST /admin/v1/operators/invitations/{token}/accept</c> <c>{password}</c> (no credential: the token is one) → 200
/// <c>{id, email, totp_secret, otpauth_uri}</c>: sets the operator's password and TOTP secret and uses the invitation up.
/// The secret is shown this once; the first login with a code from it proves it was enrolled. An unknown, used or expired
/// invitation, or one of a disabled operator → 404 <c>invalid_invitation</c>; a password not 12-128 characters → 400
/// <c>invalid_password</c>. The acceptance is an audit entry of the operator.
/// </summary>
internal static class AcceptInvitation
{
    public sealed record Request(string? Password);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/operators/invitations/{token}/accept", HandleAsync).WithMetadata(new AnonymousOperatorRoute())
            .WithDescription("No operator credential: the invitation token is one.").WithTags("Operator");

    private static async Task<IResult> HandleAsync(string token, HttpContext http, Db db, PasswordHasher hasher, AuditLog audit, TimeProvider clock,
        CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!OperatorCredentials.IsValidPassword(request!.Password))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPassword,
                $"password must be {OperatorCredentials.PasswordLengthMin}-{OperatorCredentials.PasswordLengthMax} characters.");

        var hash = OperatorCredentials.InvitationHash(token);
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        // Checked before the password is hashed, so garbage tokens cost no key derivation.
        var pending = await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("""
            SELECT id FROM operators WHERE invitation_hash = @hash AND invitation_expires_at_us > @nowUs AND disabled_at_us IS NULL
            """, new { hash, nowUs }, cancellationToken: ct));
        if (pending is null) return Invalid();

        var passwordHash = hasher.Hash(request.Password!);
        var secret = OperatorCredentials.NewTotpSecret();
        await using var tx = await connection.BeginTransactionAsync(ct);
        // One statement decides which of two concurrent acceptances wins; the other finds no invitation.
        var accepted = await connection.QuerySingleOrDefaultAsync<Accepted>(new CommandDefinition("""
            UPDATE operators SET password_hash = @passwordHash, totp_secret = @secret, totp_last_step = NULL,
                invitation_hash = NULL, invitation_expires_at_us = NULL, activated_at_us = @nowUs
            WHERE invitation_hash = @hash AND invitation_expires_at_us > @nowUs AND disabled_at_us IS NULL
            RETURNING id, email, role
            """, new { passwordHash, secret, hash, nowUs }, tx, cancellationToken: ct));
        if (accepted is null) return Invalid();
        await audit.AppendAsync(connection, tx, new AuditEntry(accepted.id.ToString(), accepted.role, "operator_invitation_accepted", accepted.id.ToString(),
            null, null, null, null, http.Connection.RemoteIpAddress?.ToString()), ct);
        await tx.CommitAsync(ct);

        http.Response.Headers.CacheControl = "no-store";
        return Results.Json(new
        {
            id = accepted.id, email = accepted.email, totp_secret = secret, otpauth_uri = OperatorCredentials.OtpauthUri(accepted.email, secret),
        }, JsonDefaults.Options);
    }

    private static IResult Invalid() =>
        ApiProblem.Create(StatusCodes.Status404NotFound, ErrorCodes.InvalidInvitation, "Not found.", "The invitation is unknown, used or expired; ask an owner for a new one.");

    private sealed class Accepted
    {
        public Guid id { get; init; }
        public string email { get; init; } = "";
        public string role { get; init; } = "";
    }
}
