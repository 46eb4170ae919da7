using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Identity;

/// <summary>The endpoint filter of a person's routes: a user's bearer token of a session that is not revoked.</summary>
internal static class Authentication
{
    private const string SessionItem = "qianbao.session";

    /// <summary>
    /// Requires a valid user token of a session that is not revoked (checked in memory, see <see cref="RevokedSessions"/>);
    /// the user id is then available through <see cref="UserId"/>.
    /// </summary>
    public static TBuilder RequireUser<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var tokens = http.RequestServices.GetRequiredService<TokenService>();
            switch (tokens.Validate(Bearer(http.Request), out var session))
            {
                case TokenCheck.Valid when http.RequestServices.GetRequiredService<RevokedSessions>().Contains(session.SessionId):
                    return ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "The session was signed out; log in again.");
                case TokenCheck.Valid:
                    http.Items[SessionItem] = session;
                    return await next(context);
                case TokenCheck.Expired:
                    return ApiProblem.Unauthorized("token_expired", "The access token has expired; request a new one.");
                default:
                    return ApiProblem.Unauthorized("unauthorized", "Send Authorization: Bearer <access_token>.");
            }
        });

    public static Guid UserId(this HttpContext http) => http.Session().UserId;

    /// <summary>The caller's session; the endpoint must have <see cref="RequireUser{TBuilder}"/>.</summary>
    public static UserSession Session(this HttpContext http) =>
        http.Items.TryGetValue(SessionItem, out var s) && s is UserSession session ? session : throw new InvalidOperationException("endpoint lacks RequireUser()");

    /// <summary>The caller's session when it sent a valid token, for endpoints where a token is optional.</summary>
    public static UserSession? OptionalSession(this HttpContext http)
    {
        var tokens = http.RequestServices.GetRequiredService<TokenService>();
        return tokens.Validate(Bearer(http.Request), out var session) == TokenCheck.Valid
               && !http.RequestServices.GetRequiredService<RevokedSessions>().Contains(session.SessionId) ? session : null;
    }

    /// <summary>The caller's IP address as the connection shows it (null without one, e.g. the in-process test server).</summary>
    public static string? ClientAddress(this HttpContext http) => http.Connection.RemoteIpAddress?.ToString();

    private static string? Bearer(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }
}

