using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>GET /v1/me</c> → <c>{id, phone_masked, name_masked, tier, totp_enabled, pin_set, locale}</c>: the caller's
/// account as the security settings screen shows it. Even the owner sees the phone and name masked: a glance over a
/// shoulder or a leaked screenshot tells no more than the masks.
/// </summary>
internal static class GetMe
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/me", HandleAsync).RequireUser().WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, UserData data, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var me = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition("""
            SELECT id, phone_enc, name, tier, totp_enabled, CASE WHEN pin_hash IS NULL THEN 0 ELSE 1 END AS pin_set, locale
            FROM users WHERE id = @id
            """, new { id = http.UserId() }, cancellationToken: ct));
        if (me is null) return ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "The account no longer exists.");
        return Results.Json(new
        {
            id = me.id,
            phone_masked = data.Open(me.id, "phone_enc", me.phone_enc) is { } phone ? PhoneNumber.Mask(phone) : null,
            name_masked = Masks.Name(data.Open(me.id, "name", me.name) ?? ""),
            tier = TierName(me.tier),
            totp_enabled = me.totp_enabled != 0,
            pin_set = me.pin_set != 0,
            locale = me.locale,
        }, JsonDefaults.Options);
    }

    /// <summary>The stored tier number's name (<c>users.tier</c>: 0 unverified, 1 class_i, 2 class_ii, 3 class_iii).</summary>
    public static string TierName(int tier) => tier switch
    {
        1 => "class_i",
        2 => "class_ii",
        3 => "class_iii",
        _ => "unverified",
    };

    private sealed class Row
    {
        public Guid id { get; init; }
        public string? phone_enc { get; init; }
        public string name { get; init; } = "";
        public int tier { get; init; }
        public int totp_enabled { get; init; }
        public int pin_set { get; init; }
        public string locale { get; init; } = "";
    }
}
