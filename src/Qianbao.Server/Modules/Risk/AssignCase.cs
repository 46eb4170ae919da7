using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// <c>POST /admin/v1/risk/cases/{id}/assign {operator_id}</c> → the case, <c>status:"assigned"</c>. Reassigning is allowed;
/// a resolved case is 409 <c>case_resolved</c>. Role risk.
/// </summary>
internal static class AssignCase
{
    public sealed record Request(string? OperatorId);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/risk/cases/{id}/assign", HandleAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, RiskCases cases, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        // Operator accounts are another module's; any well-formed id is taken (an unknown one simply never sees the case).
        if (!Guid.TryParse(request!.OperatorId, out var operatorId) || operatorId == Guid.Empty)
            return ApiProblem.BadRequest(ErrorCodes.InvalidOperatorId, "operator_id must be an operator's id.");
        if (!Guid.TryParse(id, out var caseId) || await cases.GetAsync(caseId, ct) is null) return ApiProblem.NotFound();
        if (!await cases.AssignAsync(caseId, operatorId, ct)) return ApiProblem.Conflict(ErrorCodes.CaseResolved, "The case is resolved.");
        return Results.Json(CaseJson.Case((await cases.GetAsync(caseId, ct))!), JsonDefaults.Options);
    }
}
