using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>DELETE /v1/sessions/{id}</c> → 204: revokes one of the caller's sessions (e.g. a lost phone's); revoking an
/// already revoked one is 204 again. Another user's session, or none, is 404.
/// </summary>
internal static class RevokeSession
{
    public static void Map(IEndpointRouteBuilder app) => app.MapDelete("/v1/sessions/{id}", HandleAsync).RequireUser().WithTags("Users");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, Sessions sessions, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var sessionId)) return ApiProblem.NotFound();
        return await sessions.RevokeAsync(http.UserId(), sessionId, RevokeReason.Deleted, null, http.ClientAddress(), ct)
            ? Results.NoContent()
            : ApiProblem.NotFound("You have no such session.");
    }
}
