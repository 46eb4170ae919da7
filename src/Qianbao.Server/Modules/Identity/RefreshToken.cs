using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>POST /v1/auth/refresh</c> <c>{refresh_token}</c> → 200 with a new token pair (the same shape as a login). The
/// refresh token is single-use: presenting the one just replaced again is 401 <c>refresh_token_reused</c> and revokes
/// the session (whoever holds a copy loses it too); an unknown or revoked one is 401 <c>invalid_refresh_token</c>.
/// </summary>
internal static class RefreshToken
{
    public sealed record Request(string? RefreshToken);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/auth/refresh", HandleAsync).WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, Sessions sessions, TokenService tokens, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        var refreshed = await sessions.RefreshAsync(request!.RefreshToken, http.ClientAddress(), ct);
        return refreshed.Outcome switch
        {
            RefreshOutcome.Rotated => IssueToken.TokenAnswer(http, tokens, refreshed.Session, refreshed.RefreshToken!),
            RefreshOutcome.Reused => ApiProblem.Unauthorized(ErrorCodes.RefreshTokenReused,
                "This refresh token was already used; the session is revoked. Log in again."),
            _ => ApiProblem.Unauthorized(ErrorCodes.InvalidRefreshToken, "The refresh token is unknown, replaced or revoked; log in again."),
        };
    }
}
