using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Modules.Messaging.Email;

/// <summary>
/// <c>POST /v1/me/email/verify</c> <c>{code}</c> → 200 <c>{email, verified_at}</c>: the mailed code proves the pending address,
/// which from now on receives the account's mail. Wrong, expired, used or no pending address → 422
/// <c>invalid_verification_code</c> (5 wrong tries kill the code). <c>GET /v1/me/email</c> → <c>{email, verified_at,
/// pending}</c> (addresses masked; null when none).
/// </summary>
internal static class VerifyEmail
{
    public sealed record Request(string? Code);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/me/email/verify", HandleAsync).RequireUser().WithTags("Users");
        app.MapGet("/v1/me/email", GetAsync).RequireUser().WithTags("Users");
    }

    private static async Task<IResult> HandleAsync(HttpContext http, EmailAddresses addresses, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (await addresses.VerifyAsync(http.UserId(), request!.Code, ct) is not { } verified)
            return ApiProblem.Unprocessable(ErrorCodes.InvalidVerificationCode, "The code is wrong, used or expired; ask for a new one with PUT /v1/me/email.");
        return Results.Json(new { email = EmailAddress.Mask(verified.Address), verified_at = verified.VerifiedAt }, JsonDefaults.Options);
    }

    private static async Task<IResult> GetAsync(HttpContext http, EmailAddresses addresses, CancellationToken ct)
    {
        var userId = http.UserId();
        var verified = await addresses.VerifiedAsync(userId, ct);
        var pending = await addresses.PendingAsync(userId, ct);
        return Results.Json(new
        {
            email = verified is { } v ? EmailAddress.Mask(v.Address) : null, verified_at = verified?.VerifiedAt,
            pending = pending is null ? null : EmailAddress.Mask(pending),
        }, JsonDefaults.Options);
    }
}
