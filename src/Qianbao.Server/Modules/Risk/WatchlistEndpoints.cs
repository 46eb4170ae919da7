using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Risk;

/// <summary>
/// The watchlist, role risk: <c>POST /admin/v1/risk/watchlist {name, id_number?, list, note}</c> → 201 the entry;
/// <c>GET /admin/v1/risk/watchlist</c> → <c>{items:[...]}</c>; <c>DELETE /admin/v1/risk/watchlist/{id}</c> → 204. New
/// entries screen later verifications and onboardings; people already verified are not re-screened.
/// </summary>
internal static class WatchlistEndpoints
{
    public sealed record Request(string? Name, string? IdNumber, string? List, string? Note);

    public const int TextLengthMax = 128;
    public const int NoteLengthMax = 500;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/admin/v1/risk/watchlist", AddAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");
        app.MapGet("/admin/v1/risk/watchlist", ListAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");
        app.MapDelete("/admin/v1/risk/watchlist/{id}", DeleteAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");
    }

    private static async Task<IResult> AddAsync(HttpContext http, Watchlist watchlist, CancellationToken ct)
    {
        var (r, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        var name = r!.Name?.Trim();
        if (!IsText(name, TextLengthMax) || WatchlistNames.Normalize(name!).Length == 0)
            return ApiProblem.BadRequest(ErrorCodes.InvalidName, $"name must be 1-{TextLengthMax} printable characters.");
        var idNumber = r.IdNumber?.Trim().ToUpperInvariant();
        if (idNumber is { Length: 0 }) idNumber = null;
        if (idNumber is not null && (idNumber.Length > 64 || !idNumber.All(char.IsAsciiLetterOrDigit)))
            return ApiProblem.BadRequest(ErrorCodes.InvalidIdNumber, "id_number must be 1-64 letters and digits (any country's document number).");
        var list = r.List?.Trim();
        if (!IsText(list, TextLengthMax)) return ApiProblem.BadRequest(ErrorCodes.InvalidList, $"list must name the list, 1-{TextLengthMax} printable characters.");
        var note = r.Note?.Trim() ?? "";
        if (note.Length > NoteLengthMax || note.Any(char.IsControl))
            return ApiProblem.BadRequest(ErrorCodes.InvalidNote, $"note must be at most {NoteLengthMax} printable characters.");
        var entry = await watchlist.AddAsync(name!, idNumber, list!, note, ct);
        return Results.Json(Body(entry), JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(Watchlist watchlist, CancellationToken ct) =>
        Results.Json(new { items = (await watchlist.AllAsync(ct)).Select(Body) }, JsonDefaults.Options);

    private static async Task<IResult> DeleteAsync(string id, Watchlist watchlist, CancellationToken ct) =>
        Guid.TryParse(id, out var entryId) && await watchlist.DeleteAsync(entryId, ct) ? Results.NoContent() : ApiProblem.NotFound();

    private static object Body(WatchlistEntry e) => new
    {
        id = e.Id, name = e.Name, id_number = e.IdNumber, list = e.List, note = e.Note, created_at = TimeProviderExtensions.FromUnixMicroseconds(e.CreatedAtUs),
    };

    private static bool IsText(string? s, int max) => !string.IsNullOrEmpty(s) && s.Length <= max && !s.Any(char.IsControl);
}
