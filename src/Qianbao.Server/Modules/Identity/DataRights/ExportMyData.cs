using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Identity.DataRights;

/// <summary>
/// <c>GET /v1/me/export</c> → a JSON document of everything Qianbao holds about the caller (PIPL art. 45, GDPR art. 15 and
/// 20): <c>{format, user_id, generated_at, profile, identity, devices, sessions, security_events, bank_cards, transactions,
/// messages, notification_preferences, consents, complaints}</c>, each section from the module that holds it
/// (<see cref="IPersonalDataSource"/>). The person's own phone and name are whole (it is their copy); the identity and
/// cards are masked as everywhere; other people appear only masked. Never cached.
/// </summary>
internal static class ExportMyData
{
    public const string Format = "qianbao-personal-data/1";

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/me/export", HandleAsync).RequireUser().WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, UserDirectory users, PersonalDataExport export, TimeProvider clock, CancellationToken ct)
    {
        var userId = http.UserId();
        var contact = await users.ContactAsync(userId, ct);
        if (contact is null) return ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "The account no longer exists.");
        var document = await export.CollectAsync(new DataSubject(userId, contact.Value.Phone), ct);
        document["format"] = Format;
        document["user_id"] = userId;
        document["generated_at"] = clock.GetUtcNow();
        http.Response.Headers.CacheControl = "no-store";
        return Results.Json(document, JsonDefaults.Options);
    }
}
