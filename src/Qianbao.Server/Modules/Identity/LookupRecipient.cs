using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>GET /v1/recipients?phone=</c> → <c>{user_id, name_masked}</c>: who a phone number belongs to, so a sender can check
/// before paying (<c>*磊</c>, see <see cref="Masks.Name"/>); 404 when nobody. At most <see cref="PerUserPerHour"/>
/// lookups per user an hour (429 <c>too_many_requests</c>), so the directory cannot be harvested.
/// </summary>
internal static class LookupRecipient
{
    public const int PerUserPerHour = 20;

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/recipients", HandleAsync).RequireUser().WithTags("Transfers");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, RateCounters rates, UserData data, CancellationToken ct, string? phone = null)
    {
        if (!PhoneNumber.TryNormalize(phone, out var normalized))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPhone, "phone must be a mobile number such as 13800138000 or +8613800138000.");
        var decision = await rates.HitAsync("recipients:" + http.UserId().ToString("N"), TimeSpan.FromHours(1), PerUserPerHour, ct);
        if (!decision.Allowed)
            return ApiProblem.TooMany(ErrorCodes.TooManyRequests, $"At most {PerUserPerHour} recipient lookups an hour.", decision.RetryAfter);

        await using var connection = await db.OpenAsync(ct);
        var user = await connection.QuerySingleOrDefaultAsync<(Guid Id, string Name)?>(new CommandDefinition(
            "SELECT id, name FROM users WHERE phone = @index", new { index = data.PhoneIndex(normalized) }, cancellationToken: ct));
        return user is { } u
            ? Results.Json(new { user_id = u.Id, name_masked = Masks.Name(data.Open(u.Id, "name", u.Name) ?? "") }, JsonDefaults.Options)
            : ApiProblem.NotFound("Nobody has this phone number.");
    }
}
