using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>POST /v1/verifications</c> <c>{phone, purpose}</c> → 202 <c>{verification_id, expires_in}</c>: sends a 6-digit code
/// by SMS. The answer is the same whether or not the phone is registered. <c>set_pin</c> and <c>step_up</c> need a bearer
/// token and use the account's phone (a <c>phone</c> sent with them is ignored). Send limits answer 429
/// <c>too_many_requests</c> with <c>Retry-After</c>.
/// </summary>
internal static class RequestVerification
{
    public sealed record Request(string? Phone, string? Purpose);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/verifications", HandleAsync).WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, Verifications verifications, UserDirectory users, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!Verifications.TryParsePurpose(request!.Purpose, out var purpose))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPurpose, "purpose must be register, login, reset_password, set_pin, step_up or merchant_signup.");

        string phone;
        Guid? userId = null;
        string? locale = null;
        bool send;
        if (purpose is VerificationPurpose.SetPin or VerificationPurpose.StepUp)
        {
            if (http.OptionalSession() is not { } session)
                return ApiProblem.Unauthorized("unauthorized", "set_pin and step_up codes need Authorization: Bearer <access_token>.");
            if (await users.ContactAsync(session.UserId, ct) is not { } contact) return ApiProblem.Unauthorized("unauthorized", "The account no longer exists.");
            (phone, locale, userId, send) = (contact.Phone, contact.Locale, session.UserId, true);
        }
        else
        {
            if (!PhoneNumber.TryNormalize(request.Phone, out phone))
                return ApiProblem.BadRequest("invalid_phone", "phone must be a mobile number such as 13800138000 or +8613800138000.");
            var existing = await users.FindByPhoneAsync(phone, ct);
            // Codes for an existing account's purposes go only to phones that have one; registering codes go to any
            // phone (registering a taken one then answers phone_taken). The answer is the same either way.
            send = purpose is VerificationPurpose.Register or VerificationPurpose.MerchantSignup || existing is not null;
            if (existing is { } id) locale = (await users.ContactAsync(id, ct))?.Locale;
        }

        var issue = await verifications.IssueAsync(phone, purpose, userId, locale, send, ct);
        if (!issue.Issued)
            return ApiProblem.TooMany(ErrorCodes.TooManyRequests, "Too many codes for this phone; try again later.", issue.RetryAfter);
        return Results.Json(new { verification_id = issue.Id, expires_in = (long)Verifications.Lifetime.TotalSeconds }, JsonDefaults.Options,
            statusCode: StatusCodes.Status202Accepted);
    }
}
