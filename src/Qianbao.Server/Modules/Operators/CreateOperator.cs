using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators.Audit;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Operators;

/// <summary>
/// <c>POST /admin/v1/operators</c> <c>{email, name, role}</c> (owner) → 201 <c>{id, email, name, role, status:"invited",
/// invitation_token, invitation_expires_at}</c>: an operator account that can do nothing until the person accepts the
/// one-time invitation (<see cref="AcceptInvitation"/>) within <see cref="OperatorCredentials.InvitationLifetime"/>.
/// The token is shown once and stored only as a hash; the owner hands it over by a channel of their choosing.
/// 400 <c>invalid_email</c>, <c>invalid_name</c>, <c>invalid_role</c>; 409 <c>operator_exists</c> for an e-mail in use.
/// </summary>
internal static class CreateOperator
{
    public sealed record Request(string? Email, string? Name, string? Role);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/admin/v1/operators", HandleAsync).RequireOperator().WithTags("Operator");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!OperatorCredentials.TryNormalizeEmail(request!.Email, out var email))
            return ApiProblem.BadRequest(ErrorCodes.InvalidEmail, $"email must be an address of at most {OperatorCredentials.EmailLengthMax} characters.");
        if (!OperatorCredentials.IsValidName(request.Name))
            return ApiProblem.BadRequest(ErrorCodes.InvalidName, $"name must be 1-{OperatorCredentials.NameLengthMax} printable characters.");
        if (!OperatorRoles.TryParse(request.Role, out var role))
            return ApiProblem.BadRequest(ErrorCodes.InvalidRole, "role must be one of owner, risk, support, finance.");

        var now = clock.GetUtcNow();
        var id = Guid.CreateVersion7(now);
        var name = request.Name!.Trim();
        var (token, hash) = OperatorCredentials.NewInvitation();
        var expiresAt = now.Add(OperatorCredentials.InvitationLifetime);
        await using var connection = await db.OpenAsync(ct);
        var inserted = await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO operators (id, email, name, role, invitation_hash, invitation_expires_at_us, created_by, created_at_us)
            VALUES (@id, @email, @name, @role, @hash, @expiresUs, @createdBy, @nowUs)
            ON CONFLICT (email) DO NOTHING
            """, new
        {
            id, email, name, role = OperatorRoles.Name(role), hash, expiresUs = expiresAt.ToUnixMicroseconds(), createdBy = http.Operator().Actor,
            nowUs = now.ToUnixMicroseconds(),
        }, cancellationToken: ct));
        if (inserted == 0) return ApiProblem.Conflict(ErrorCodes.OperatorExists, "An operator with this e-mail exists.");

        http.AuditTarget(id.ToString());
        http.AuditChange(null, new { id, email, name, role = OperatorRoles.Name(role), status = "invited" });
        return Results.Json(new
        {
            id, email, name, role = OperatorRoles.Name(role), status = "invited", invitation_token = token, invitation_expires_at = expiresAt,
        }, JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    }
}
