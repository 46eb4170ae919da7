using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>The endpoint filter of every authenticated <c>/merchant/v1</c> route: who the staff member is and whether their role may call it.</summary>
internal static class MerchantAccess
{
    private const string PrincipalItem = "qianbao.merchant";

    /// <summary>
    /// Requires a merchant staff token (<c>POST /merchant/v1/auth/token</c>) whose role is <see cref="MerchantRole.Admin"/> or one
    /// of <paramref name="roles"/>: none or a bad one is 401 <c>unauthorized</c> (expired: <c>token_expired</c>), another role 403
    /// <c>forbidden</c>. The handler reads <see cref="Merchant"/> and answers only about that merchant's objects.
    /// </summary>
    public static TBuilder RequireMerchant<TBuilder>(this TBuilder builder, params MerchantRole[] roles) where TBuilder : IEndpointConventionBuilder
    {
        var allowed = roles.Append(MerchantRole.Admin).Distinct().ToArray();
        var names = string.Join(", ", allowed.Select(MerchantRoles.Name));
        builder.WithDescription($"Merchant roles: {names}.");
        return builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var header = http.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return Unauthorized();
            switch (http.RequestServices.GetRequiredService<MerchantTokens>().Validate(header[7..].Trim(), out var principal))
            {
                case MerchantTokenCheck.Expired:
                    return ApiProblem.Unauthorized(ErrorCodes.TokenExpired, "The merchant access token has expired; log in again (POST /merchant/v1/auth/token).");
                case MerchantTokenCheck.Invalid:
                    return Unauthorized();
            }
            if (http.RequestServices.GetRequiredService<DisabledMerchantStaff>().Contains(principal.StaffId))
                return ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "This staff account is disabled.");
            if (!allowed.Contains(principal.Role))
                return ApiProblem.Forbidden(ErrorCodes.Forbidden, $"This route is for the roles {names}; yours is {MerchantRoles.Name(principal.Role)}.");
            http.Items[PrincipalItem] = principal;
            return await next(context);
        });
    }

    /// <summary>The staff member calling; the endpoint must have <see cref="RequireMerchant{TBuilder}"/>.</summary>
    public static MerchantPrincipal Merchant(this HttpContext http) =>
        http.Items.TryGetValue(PrincipalItem, out var p) && p is MerchantPrincipal principal
            ? principal : throw new InvalidOperationException("endpoint lacks RequireMerchant()");

    private static IResult Unauthorized() =>
        ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "Send Authorization: Bearer <merchant access token from POST /merchant/v1/auth/token>.");
}
