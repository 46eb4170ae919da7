using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity.Tiers;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>GET /admin/v1/users/{id}?reveal=</c> (risk, support) → <c>{id, phone_masked, name_masked, tier, created_at,
/// identity_verified, identity_name_masked, id_number_masked, totp_enabled, pin_set, frozen, frozen_reason, frozen_at}</c>:
/// a person as an operator handling their case sees them, masked like everywhere else. With <c>reveal=true</c> the answer
/// adds <c>phone</c>, <c>name</c>, <c>identity_name</c> and <c>id_number</c> in clear (opened from their sealed values by
/// <see cref="UserDirectory.RevealAsync"/>), and the request is an audit entry (the access filter records every GET with
/// <c>reveal</c>, before the answer is sent). <c>reveal</c> other than <c>true</c>/<c>false</c> → 400 <c>bad_request</c>.
/// </summary>
internal static class GetUserForOperator
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/users/{id}", HandleAsync).RequireOperator(OperatorRole.Risk, OperatorRole.Support).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, Db db, UserDirectory users, Freezes freezes, CancellationToken ct, string? reveal = null)
    {
        bool revealed;
        if (reveal is null or "false") revealed = false;
        else if (reveal == "true") revealed = true;
        else return ApiProblem.BadRequest(ErrorCodes.BadRequest, "reveal must be true or false.");
        if (!Guid.TryParse(id, out var userId)) return ApiProblem.NotFound();

        Row? user;
        await using (var connection = await db.OpenAsync(ct))
        {
            user = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition("""
                SELECT id, tier, created_at_us, identity_number_masked, totp_enabled, CASE WHEN pin_hash IS NULL THEN 0 ELSE 1 END AS pin_set
                FROM users WHERE id = @userId
                """, new { userId }, cancellationToken: ct));
        }
        if (user is null || await users.RevealAsync(userId, ct) is not { } person) return ApiProblem.NotFound();
        var freeze = await freezes.StateAsync(userId, ct);

        var body = new Dictionary<string, object?>
        {
            ["id"] = user.id,
            ["phone_masked"] = person.Phone is null ? null : PhoneNumber.Mask(person.Phone),
            ["name_masked"] = person.Name is null ? null : Masks.Name(person.Name),
            ["tier"] = UserTiers.Name(UserTiers.FromStored(user.tier)),
            ["created_at"] = TimeProviderExtensions.FromUnixMicroseconds(user.created_at_us),
            ["identity_verified"] = user.identity_number_masked is not null,
            ["identity_name_masked"] = person.IdentityName is null ? null : Masks.Name(person.IdentityName),
            ["id_number_masked"] = user.identity_number_masked,
            ["totp_enabled"] = user.totp_enabled != 0,
            ["pin_set"] = user.pin_set != 0,
            ["frozen"] = freeze.Frozen,
            ["frozen_reason"] = freeze.Reason,
            ["frozen_at"] = freeze.FrozenAtUs is { } at ? TimeProviderExtensions.FromUnixMicroseconds(at) : null,
        };
        if (revealed)
        {
            body["phone"] = person.Phone;
            body["name"] = person.Name;
            body["identity_name"] = person.IdentityName;
            body["id_number"] = person.IdNumber;
        }
        return Results.Json(body, JsonDefaults.Options);
    }

    private sealed class Row
    {
        public Guid id { get; init; }
        public long tier { get; init; }
        public long created_at_us { get; init; }
        public string? identity_number_masked { get; init; }
        public long totp_enabled { get; init; }
        public long pin_set { get; init; }
    }
}
