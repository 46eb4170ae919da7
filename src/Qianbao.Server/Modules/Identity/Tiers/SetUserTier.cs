using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Storage;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Modules.Operators.Audit;

namespace Qianbao.Server.Modules.Identity.Tiers;

/// <summary>
/// <c>POST /admin/v1/users/{id}/tier</c> <c>{tier, note}</c> → 200 <c>{id, tier, previous_tier}</c>: an operator sets the tier
/// after reviewing documents (raising to <c>class_iii</c> is the usual case). Any tier above <c>unverified</c> needs a verified
/// identity (400 <c>invalid_tier</c> otherwise). Lowering is allowed (a document found false, a court order): spending
/// follows the new tier at once for who may spend, but limit grants the ledger already made stay, so today's and this
/// year's caps stay as raised until the period ends; the lower caps apply from the next day or year. To stop an account
/// now, freeze it (or set it <c>unverified</c>). The note (1..200 characters) goes into the security event <c>tier_changed</c>.
/// </summary>
internal static class SetUserTier
{
    public sealed record Request(string? Tier, string? Note);

    public const int NoteLengthMax = SecurityEvents.DetailLengthMax - 40;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/admin/v1/users/{id}/tier", HandleAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, HttpContext http, Db db, SecurityEvents events, UserStates states, ILoggerFactory loggers,
        CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!UserTiers.TryParse(request!.Tier, out var tier))
            return ApiProblem.BadRequest(ErrorCodes.InvalidTier, "tier must be one of unverified, class_i, class_ii, class_iii.");
        var note = request.Note?.Trim();
        if (string.IsNullOrEmpty(note) || note.Length > NoteLengthMax || note.Any(char.IsControl))
            return ApiProblem.BadRequest(ErrorCodes.InvalidNote, $"note must be 1-{NoteLengthMax} printable characters (what was reviewed).");
        if (!Guid.TryParse(id, out var userId)) return ApiProblem.NotFound();

        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            "SELECT tier, identity_number_hash FROM users WHERE id = @userId", new { userId }, tx, cancellationToken: ct));
        if (row is null) return ApiProblem.NotFound();
        if (tier > UserTier.Unverified && row.identity_number_hash is null)
            return ApiProblem.BadRequest(ErrorCodes.InvalidTier, "The account has no verified identity: only unverified is possible until it verifies one.");
        var previous = UserTiers.FromStored(row.tier);
        if (previous != tier)
        {
            await connection.ExecuteAsync(new CommandDefinition("UPDATE users SET tier = @tier WHERE id = @userId",
                new { tier = (short)tier, userId }, tx, cancellationToken: ct));
            await events.AppendAsync(connection, tx, userId, SecurityEventKind.TierChanged, null, http.Connection.RemoteIpAddress?.ToString(),
                $"{UserTiers.Name(previous)} -> {UserTiers.Name(tier)} by operator: {note}", ct);
        }
        await tx.CommitAsync(ct);
        if (previous != tier) await states.ChangedAsync(userId);
        http.AuditChange(new { tier = UserTiers.Name(previous) }, new { tier = UserTiers.Name(tier), note });
        loggers.CreateLogger(typeof(SetUserTier)).LogInformation("Operator set user {UserId} tier {Previous} -> {Tier}: {Note}", userId,
            UserTiers.Name(previous), UserTiers.Name(tier), note);
        return Results.Json(new { id = userId, tier = UserTiers.Name(tier), previous_tier = UserTiers.Name(previous) }, JsonDefaults.Options);
    }

    private sealed class Row
    {
        public long tier { get; init; }
        public string? identity_number_hash { get; init; }
    }
}
