using Qianbao.Server.Hosting;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// <c>GET /v1/sessions</c> → <c>{items:[{id, device_id, created_at, last_seen_at, current}]}</c>: the caller's live
/// (not revoked) sessions, newest first. <c>last_seen_at</c> moves when the session's refresh token is used, not on
/// every request (that would cost a write per request).
/// </summary>
internal static class ListSessions
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/sessions", HandleAsync).RequireUser().WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, Sessions sessions, CancellationToken ct)
    {
        var caller = http.Session();
        var items = await sessions.ListAsync(caller.UserId, ct);
        return Results.Json(new
        {
            items = items.Select(s => new
            {
                id = s.Id,
                device_id = s.DeviceId,
                created_at = TimeProviderExtensions.FromUnixMicroseconds(s.CreatedAtUs),
                last_seen_at = TimeProviderExtensions.FromUnixMicroseconds(s.LastSeenAtUs),
                current = s.Id == caller.SessionId,
            }),
        }, JsonDefaults.Options);
    }
}
