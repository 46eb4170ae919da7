using System.Security.Cryptography;
using System.Text;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Operators;

/// <summary>The endpoint filter of every <c>/admin/v1</c> route: who the operator is, and whether their role may call it.</summary>
internal static class OperatorAccess
{
    private const string PrincipalItem = "qianbao.operator";

    /// <summary>
    /// Requires an operator credential whose role is <see cref="OperatorRole.Owner"/> or one of <paramref name="roles"/>:
    /// no or a bad credential is 401 <c>unauthorized</c>, another role 403 <c>forbidden</c>. The bootstrap operator key
    /// (<c>Qianbao:OperatorKey</c>) is an owner. The allowed roles are endpoint metadata, shown in OpenAPI.
    /// </summary>
    public static TBuilder RequireOperator<TBuilder>(this TBuilder builder, params OperatorRole[] roles) where TBuilder : IEndpointConventionBuilder
    {
        var allowed = new OperatorRoles(roles);
        builder.WithMetadata(allowed);
        builder.WithDescription($"Operator roles: {allowed.Describe()}.");
        return builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (Authenticate(http) is not { } principal)
                return ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "Send Authorization: Bearer <operator key or operator access token>.");
            if (!allowed.Allows(principal.Role))
                return ApiProblem.Forbidden(ErrorCodes.Forbidden, $"This route is for the roles {allowed.Describe()}; yours is {OperatorRoles.Name(principal.Role)}.");
            http.Items[PrincipalItem] = principal;
            return await next(context);
        });
    }

    /// <summary>The operator calling; the endpoint must have <see cref="RequireOperator{TBuilder}"/>.</summary>
    public static OperatorPrincipal Operator(this HttpContext http) =>
        http.Items.TryGetValue(PrincipalItem, out var p) && p is OperatorPrincipal principal
            ? principal : throw new InvalidOperationException("endpoint lacks RequireOperator()");

    private static OperatorPrincipal? Authenticate(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return null;
        var given = header[7..].Trim();
        var expected = http.RequestServices.GetRequiredService<OperatorKey>().Value;
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)))
            ? OperatorPrincipal.Bootstrap : null;
    }
}

/// <summary>The bootstrap operator credential (<c>Qianbao:OperatorKey</c>, or generated in sandbox mode): an owner.</summary>
public sealed record OperatorKey(string Value);
