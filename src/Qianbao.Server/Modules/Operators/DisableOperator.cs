using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators.Audit;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Operators;

/// <summary>
/// <c>POST /admin/v1/operators/{id}/disable</c> (owner) → 200 <c>{id, status:"disabled", disabled_at}</c>: the operator can
/// no longer log in or accept an invitation, and their access tokens are refused at once on this process and within about
/// a second on every other (<see cref="DisabledOperators"/>). Disabling a disabled operator keeps the first time. There is
/// no enabling again: an owner invites the person anew.
/// </summary>
internal static class DisableOperator
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/operators/{id}/disable", HandleAsync).RequireOperator().WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, Db db, DisabledOperators disabled, TimeProvider clock, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var operatorId)) return ApiProblem.NotFound();
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var before = await connection.QuerySingleOrDefaultAsync<(long? ActivatedAtUs, long? DisabledAtUs)?>(new CommandDefinition(
            "SELECT activated_at_us, disabled_at_us FROM operators WHERE id = @operatorId", new { operatorId }, tx, cancellationToken: ct));
        if (before is not { } b) return ApiProblem.NotFound();
        var disabledAtUs = b.DisabledAtUs ?? clock.GetUnixMicroseconds();
        if (b.DisabledAtUs is null)
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE operators SET disabled_at_us = @disabledAtUs, invitation_hash = NULL WHERE id = @operatorId AND disabled_at_us IS NULL",
                new { operatorId, disabledAtUs }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        disabled.Add(operatorId, disabledAtUs);

        http.AuditChange(new { status = ListOperators.Status(b.ActivatedAtUs, b.DisabledAtUs) }, new { status = "disabled" });
        return Results.Json(new { id = operatorId, status = "disabled", disabled_at = TimeProviderExtensions.FromUnixMicroseconds(disabledAtUs) },
            JsonDefaults.Options);
    }
}
