using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Modules.Operators.Audit;

namespace Qianbao.Server.Modules.Admin;

/// <summary>
/// <c>POST /admin/v1/users/{id}/freeze {reason}</c> and <c>POST /admin/v1/users/{id}/unfreeze {reason}</c> → 200
/// <c>{id, status:"frozen"|"active", frozen_reason, frozen_at}</c>. A frozen wallet can still receive transfers and
/// top-ups but cannot send, pay or withdraw (422 <c>account_frozen</c>), enforced for every module by the money
/// pipeline's freeze policy. Freezing a frozen user keeps the first freeze; unfreezing an active user is a no-op.
/// </summary>
internal static class FreezeUser
{
    public sealed record Request(string? Reason);

    public const int ReasonLengthMax = Freezes.ReasonLengthMax;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/admin/v1/users/{id}/freeze", (string id, HttpContext http, UserDirectory users, Freezes freezes, ILoggerFactory loggers, CancellationToken ct) =>
            HandleAsync(id, freeze: true, http, users, freezes, loggers, ct)).RequireOperator(OperatorRole.Risk).WithTags("Operator");
        app.MapPost("/admin/v1/users/{id}/unfreeze", (string id, HttpContext http, UserDirectory users, Freezes freezes, ILoggerFactory loggers, CancellationToken ct) =>
            HandleAsync(id, freeze: false, http, users, freezes, loggers, ct)).RequireOperator(OperatorRole.Risk).WithTags("Operator");
    }

    private static async Task<IResult> HandleAsync(string id, bool freeze, HttpContext http, UserDirectory users, Freezes freezes,
        ILoggerFactory loggers, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        var reason = request!.Reason?.Trim();
        if (string.IsNullOrEmpty(reason) || reason.Length > ReasonLengthMax || reason.Any(char.IsControl))
            return ApiProblem.BadRequest("invalid_reason", $"reason must be 1-{ReasonLengthMax} printable characters.");
        if (!Guid.TryParse(id, out var userId) || !await users.ExistsAsync(userId, ct)) return ApiProblem.NotFound();

        var before = await freezes.StateAsync(userId, ct);
        var state = freeze ? await freezes.FreezeAsync(userId, reason, ct) : await freezes.UnfreezeAsync(userId, ct);
        // The audit entry keeps the reason of an unfreeze too (the freeze's own row goes with it).
        http.AuditChange(Body(before), new { state = Body(state), reason });
        loggers.CreateLogger(typeof(FreezeUser)).LogInformation("Operator {Action} user {UserId}: {Reason}", freeze ? "froze" : "unfroze", userId, reason);
        return Results.Json(Body(state), JsonDefaults.Options);
    }

    public static object Body(FreezeState state) => new
    {
        id = state.OwnerId,
        status = state.Frozen ? "frozen" : "active",
        frozen_reason = state.Reason,
        frozen_at = state.FrozenAtUs is { } us ? TimeProviderExtensions.FromUnixMicroseconds(us) : (DateTimeOffset?)null,
    };
}
