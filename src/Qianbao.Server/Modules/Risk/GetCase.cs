using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// <c>GET /admin/v1/risk/cases/{id}</c> → the case with all its hits and an evidence page: <c>evidence:[{movement_id,
/// direction, kind, amount, currency, counterparty_id, reference, at, hit}]</c>, the subject's movements from
/// <c>Qianbao:Aml:EvidenceWindowHours</c> before its first hit to as long after its last (at most 500). Role risk.
/// </summary>
internal static class GetCase
{
    public const int EvidenceMax = 500;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/risk/cases/{id}", HandleAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, RiskCases cases, AmlStore movements, AmlOptions options, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var caseId) || await cases.GetAsync(caseId, ct) is not { } found) return ApiProblem.NotFound();
        return Results.Json(await BodyAsync(found, movements, options, ct), JsonDefaults.Options);
    }

    public static async Task<Dictionary<string, object?>> BodyAsync(RiskCase found, AmlStore movements, AmlOptions options, CancellationToken ct)
    {
        var body = (Dictionary<string, object?>)CaseJson.Case(found);
        var evidence = new List<object>();
        if (found.Hits.Count > 0)
        {
            var margin = options.EvidenceWindowHours * 3_600_000_000L;
            var hitIds = found.Hits.Select(h => h.MovementId).ToHashSet();
            foreach (var m in await movements.AroundAsync(found.SubjectId, found.Hits[0].AtUs - margin, found.Hits[^1].AtUs + margin, EvidenceMax, ct))
            {
                evidence.Add(new
                {
                    movement_id = m.Id, direction = AmlNames.Name(m.Direction), kind = AmlNames.Name(m.Kind), amount = m.AmountMinor, currency = m.Currency,
                    counterparty_id = m.CounterpartyId, reference = m.Reference, at = TimeProviderExtensions.FromUnixMicroseconds(m.AtUs), hit = hitIds.Contains(m.Id),
                });
            }
        }
        body["evidence"] = evidence;
        return body;
    }
}
