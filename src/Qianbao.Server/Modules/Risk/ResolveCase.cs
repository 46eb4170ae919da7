using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity.Tiers;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// <c>POST /admin/v1/risk/cases/{id}/resolve {decision: "cleared"|"reported"|"frozen", note}</c> → the case,
/// <c>status:"resolved"</c>. <c>frozen</c> freezes the subject's wallet (the full freeze of <see cref="Freezes"/>: it
/// receives but cannot send, pay or withdraw). For a watchlist case about a person, <c>cleared</c> completes the
/// held real-name verification (class I) and <c>reported</c> or <c>frozen</c> drops it; a merchant's verification is
/// allowed once its case is cleared. A resolved case is 409 <c>case_resolved</c>. Role risk.
/// </summary>
/// <remarks>
/// The consequence is carried out before the case is marked resolved, and each is idempotent: a crash in between
/// leaves the case open for the operator to resolve again, never a resolved case whose freeze did not happen.
/// </remarks>
internal static class ResolveCase
{
    public sealed record Request(string? Decision, string? Note);

    public const int NoteLengthMax = 500;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/risk/cases/{id}/resolve", HandleAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, RiskCases cases, Freezes freezes, IdentityReviews reviews,
        ILoggerFactory loggers, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!CaseNames.TryParseDecision(request!.Decision, out var decision))
            return ApiProblem.BadRequest(ErrorCodes.InvalidDecision, "decision must be cleared, reported or frozen.");
        var note = request.Note?.Trim();
        if (string.IsNullOrEmpty(note) || note.Length > NoteLengthMax || note.Any(char.IsControl))
            return ApiProblem.BadRequest(ErrorCodes.InvalidNote, $"note must be 1-{NoteLengthMax} printable characters.");
        if (!Guid.TryParse(id, out var caseId) || await cases.GetAsync(caseId, ct) is not { } found) return ApiProblem.NotFound();
        if (found.Status == CaseStatus.Resolved) return ApiProblem.Conflict(ErrorCodes.CaseResolved, "The case is resolved.");

        if (decision == CaseDecision.Frozen)
        {
            var reason = $"risk case {found.Id} ({RiskRules.Name(found.Rule)}): {note}";
            await freezes.FreezeAsync(found.SubjectId, reason.Length > Freezes.ReasonLengthMax ? reason[..Freezes.ReasonLengthMax] : reason, ct);
        }
        if (found.Rule == RiskRule.Watchlist && found.SubjectType == SubjectType.User)
        {
            if (decision == CaseDecision.Cleared) await reviews.CompleteAsync(found.SubjectId, ct);
            else await reviews.RejectAsync(found.SubjectId, ct);
        }
        if (!await cases.ResolveAsync(caseId, decision, note, http.Operator().OperatorId, ct))
            return ApiProblem.Conflict(ErrorCodes.CaseResolved, "The case is resolved.");
        loggers.CreateLogger(typeof(ResolveCase)).LogInformation("Risk case {CaseId} ({Rule}, {SubjectType} {SubjectId}) resolved: {Decision}",
            caseId, RiskRules.Name(found.Rule), AmlNames.Name(found.SubjectType), found.SubjectId, CaseNames.Name(decision));
        return Results.Json(CaseJson.Case((await cases.GetAsync(caseId, ct))!), JsonDefaults.Options);
    }
}
