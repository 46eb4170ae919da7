using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>GET /admin/v1/users?phone=</c> (risk, support) → <c>{items:[{id, phone_masked, name_masked}]}</c>: who holds a phone
/// number (at most one account; none is an empty list), masked as everywhere else, for an operator handling a person who
/// called in. The phone is looked up by its blind index, never by opening sealed columns; the details and an audited
/// reveal are <see cref="GetUserForOperator"/>. A phone that is not a mobile number → 400 <c>invalid_phone</c>.
/// </summary>
internal static class FindUserByPhone
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/users", HandleAsync).RequireOperator(OperatorRole.Risk, OperatorRole.Support).WithTags("Operator");

    private static async Task<IResult> HandleAsync(UserDirectory users, CancellationToken ct, string? phone = null)
    {
        if (!PhoneNumber.TryNormalize(phone, out var normalized))
            return ApiProblem.BadRequest(ErrorCodes.InvalidPhone, "phone must be a mobile number such as 13800138000 or +8613800138000.");
        var items = new List<object>();
        if (await users.FindByPhoneAsync(normalized, ct) is { } userId && await users.RevealAsync(userId, ct) is { } person)
            items.Add(new
            {
                id = userId,
                phone_masked = person.Phone is null ? null : PhoneNumber.Mask(person.Phone),
                name_masked = person.Name is null ? null : Masks.Name(person.Name),
            });
        return Results.Json(new { items }, JsonDefaults.Options);
    }
}
