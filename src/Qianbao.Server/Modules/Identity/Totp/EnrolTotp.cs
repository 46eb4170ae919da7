using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Identity.Totp;

/// <summary>
/// <c>POST /v1/me/totp</c> → 200 <c>{secret, otpauth_uri}</c>: a new authenticator secret, not yet in force (confirm it
/// with <c>POST /v1/me/totp/confirm</c>); asking again replaces a secret not yet confirmed. Once TOTP is on, 409
/// <c>totp_already_enabled</c>: a token alone must not be enough to move the second factor to another device.
/// <c>POST /v1/me/totp/confirm</c> <c>{code}</c> → 204 turns it on; a wrong or used code → 422 <c>invalid_totp_code</c>.
/// </summary>
internal static class EnrolTotp
{
    public sealed record ConfirmRequest(string? Code);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/me/totp", EnrolAsync).RequireUser().WithTags("Users");
        app.MapPost("/v1/me/totp/confirm", ConfirmAsync).RequireUser().WithTags("Users");
    }

    private static async Task<IResult> EnrolAsync(HttpContext http, TotpAuthenticator totp, CancellationToken ct)
    {
        var (outcome, enrolment) = await totp.EnrolAsync(http.UserId(), ct);
        return outcome switch
        {
            TotpOutcome.Done => Results.Json(new { secret = enrolment!.Value.Secret, otpauth_uri = enrolment.Value.OtpauthUri }, JsonDefaults.Options),
            _ => Problem(outcome),
        };
    }

    private static async Task<IResult> ConfirmAsync(HttpContext http, TotpAuthenticator totp, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<ConfirmRequest>(http.Request, ct);
        if (problem is not null) return problem;
        var outcome = await totp.ConfirmAsync(http.UserId(), request!.Code, http.Connection.RemoteIpAddress?.ToString(), ct);
        return outcome == TotpOutcome.Done ? Results.NoContent() : Problem(outcome);
    }

    private static IResult Problem(TotpOutcome outcome) => outcome switch
    {
        TotpOutcome.AlreadyEnabled => ApiProblem.Conflict(ErrorCodes.TotpAlreadyEnabled, "TOTP is already on for this account."),
        TotpOutcome.Refused => ApiProblem.Unprocessable(ErrorCodes.InvalidTotpCode,
            "The code is wrong or used, or no secret was enrolled (POST /v1/me/totp); use the current code of your authenticator."),
        TotpOutcome.NoSuchUser => ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "The account no longer exists."),
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "unknown TOTP outcome"),
    };
}
