using System.Security.Cryptography;
using System.Text;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Identity;

/// <summary>Endpoint filters for the two credentials: a user's bearer token and the operator key.</summary>
internal static class Authentication
{
    private const string UserIdItem = "qianbao.user_id";

    /// <summary>Requires a valid user token; the user id is then available through <see cref="UserId"/>.</summary>
    public static TBuilder RequireUser<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var tokens = http.RequestServices.GetRequiredService<TokenService>();
            switch (tokens.Validate(Bearer(http.Request), out var userId))
            {
                case TokenCheck.Valid:
                    http.Items[UserIdItem] = userId;
                    return await next(context);
                case TokenCheck.Expired:
                    return ApiProblem.Unauthorized("token_expired", "The access token has expired; request a new one.");
                default:
                    return ApiProblem.Unauthorized("unauthorized", "Send Authorization: Bearer <access_token>.");
            }
        });

    /// <summary>Requires <c>Authorization: Bearer &lt;operator key&gt;</c>.</summary>
    public static TBuilder RequireOperator<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var expected = http.RequestServices.GetRequiredService<OperatorKey>().Value;
            var given = Bearer(http.Request);
            var ok = given is not null && CryptographicOperations.FixedTimeEquals(
                SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
            return ok ? await next(context) : ApiProblem.Unauthorized("unauthorized", "Send Authorization: Bearer <operator key>.");
        });

    public static Guid UserId(this HttpContext http) =>
        http.Items.TryGetValue(UserIdItem, out var id) && id is Guid g ? g : throw new InvalidOperationException("endpoint lacks RequireUser()");

    private static string? Bearer(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }
}

/// <summary>The operator API credential.</summary>
public sealed record OperatorKey(string Value);
