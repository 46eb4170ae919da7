using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Modules.Messaging.Email;

/// <summary>
/// <c>PUT /v1/me/email</c> <c>{email}</c> → 202 <c>{email, expires_in}</c> (the address masked): mails a 6-digit code to the
/// address, which becomes the account's address once <c>POST /v1/me/email/verify</c> accepts the code. A malformed address
/// is 400 <c>invalid_email</c>; send limits answer 429 <c>too_many_requests</c> with <c>Retry-After</c>.
/// </summary>
internal static class SetEmail
{
    public sealed record Request(string? Email);

    public static void Map(IEndpointRouteBuilder app) => app.MapPut("/v1/me/email", HandleAsync).RequireUser().WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, EmailAddresses addresses, UserDirectory users, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!EmailAddress.TryNormalize(request!.Email, out var email))
            return ApiProblem.BadRequest(ErrorCodes.InvalidEmail, $"email must be an address such as name@example.com of at most {EmailAddress.LengthMax} characters.");
        var userId = http.UserId();
        if (await users.ContactAsync(userId, ct) is not { } contact) return ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "The account no longer exists.");
        var issue = await addresses.IssueAsync(userId, email, contact.Locale, ct);
        if (!issue.Issued) return ApiProblem.TooMany(ErrorCodes.TooManyRequests, "Too many codes; try again later.", issue.RetryAfter);
        return Results.Json(new { email = EmailAddress.Mask(email), expires_in = (long)EmailAddresses.Lifetime.TotalSeconds }, JsonDefaults.Options,
            statusCode: StatusCodes.Status202Accepted);
    }
}
