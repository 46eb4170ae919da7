namespace Qianbao.Server.Modules.Identity;

/// <summary><c>POST /v1/auth/logout</c> → 204: revokes the caller's session; its access and refresh tokens stop working.</summary>
internal static class Logout
{
    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/auth/logout", HandleAsync).RequireUser().WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, Sessions sessions, CancellationToken ct)
    {
        var session = http.Session();
        await sessions.RevokeAsync(session.UserId, session.SessionId, RevokeReason.Logout, null, http.ClientAddress(), ct);
        return Results.NoContent();
    }
}
