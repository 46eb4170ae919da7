using System.Data.Common;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity.Tiers;

/// <summary>
/// <c>POST /v1/me/identity</c> <c>{name, id_number}</c> → 200 <c>{tier, name_masked, id_number_masked}</c>: a real-name
/// identity (a GB 11643 resident ID of a holder aged 16 or more on today's China date) makes the account class I (a higher
/// tier stays). One identity, one account: a number another account verified is 409 <c>identity_taken</c> (a unique keyed
/// hash). The same account sending its own identity again gets the same 200 (idempotent); a different identity for an
/// account that has one is 409 <c>identity_already_verified</c>: an identity is not replaced by its holder (an operator
/// would have to, after review). Bad input is 400 <c>invalid_name</c> or <c>invalid_id_number</c>, and nothing changes.
/// The identity is screened against Risk's watchlist first: a hit answers 202 <c>{tier:"unverified", status:"under_review"}</c>
/// and holds the identity (<see cref="IdentityReviews"/>) until an operator clears the case, which completes the verification.
/// </summary>
internal static class VerifyIdentity
{
    public sealed record Request(string? Name, string? IdNumber);

    public const int NameLengthMax = 64;

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/me/identity", HandleAsync).RequireUser().WithTags("Identity");

    /// <summary>A real name: 2..64 letters, with the separators names use (space, middle dot); trimmed.</summary>
    public static bool TryNormalizeName(string? name, out string normalized)
    {
        normalized = name?.Trim() ?? "";
        return normalized.Length is >= 2 and <= NameLengthMax
            && normalized.All(c => char.IsLetter(c) || c is ' ' or '·' or '•' or '.' or '-' or '\'')
            && char.IsLetter(normalized[0]);
    }

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, UserData data, SecurityEvents events, TimeProvider clock,
        IdentityReviews reviews, Risk.WatchlistScreening screening, ILoggerFactory loggers, EventSignal signal, UserStates states, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!TryNormalizeName(request!.Name, out var name))
            return ApiProblem.BadRequest(ErrorCodes.InvalidName, $"name must be the holder's name as on the ID card: 2-{NameLengthMax} letters.");
        var invalid = ResidentIdNumber.TryParseAdult(request.IdNumber, UserTiers.ChinaToday(clock), out var parsed);
        if (invalid != ResidentIdProblem.None) return ApiProblem.BadRequest(ErrorCodes.InvalidIdNumber, ResidentIdNumber.Describe(invalid));
        var number = parsed!.Value;

        var userId = http.UserId();
        // The blind index is what is stored; identities verified before 0016 carry the older keyed hash, so lookups try both.
        var hash = data.IdNumberIndex(number.Value);
        var legacy = data.LegacyIdNumberHash(number.Value);
        await using (var reading = await db.OpenAsync(ct))
        {
            var current = await reading.QuerySingleAsync<Current>(new CommandDefinition(
                "SELECT tier, identity_name, identity_number_hash FROM users WHERE id = @userId", new { userId }, cancellationToken: ct));
            if (current.identity_number_hash is { } existing)
            {
                if (data.IdNumberMatches(number.Value, existing) && data.Open(userId, "identity_name", current.identity_name) == name)
                    return Answer(UserTiers.FromStored(current.tier), name, number);
                return ApiProblem.Conflict(ErrorCodes.IdentityAlreadyVerified, "This account already has a verified identity; it cannot be replaced.");
            }
            var takenBy = await reading.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(
                "SELECT id FROM users WHERE identity_number_hash IN (@hash, @legacy)", new { hash, legacy }, cancellationToken: ct));
            if (takenBy is not null) return Taken();
        }

        // Watchlist screening (Risk), whatever Qianbao:Security:Relaxed says: a hit holds the identity back until an
        // operator clears the case, and the account stays unverified meanwhile. An identity already under review answers
        // the same, whatever is sent: the review decides first.
        if (await reviews.PendingAsync(userId, ct)) return UnderReview();
        if (await screening.ScreenPersonAsync(userId, name, number.Value, ct))
        {
            await reviews.HoldAsync(userId, name, hash, number, ct);
            loggers.CreateLogger(typeof(VerifyIdentity)).LogWarning("User {UserId}: identity {IdNumber} held for a watchlist review", userId, number.Masked);
            return UnderReview();
        }

        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        var stored = await connection.QuerySingleAsync<long>(new CommandDefinition("SELECT tier FROM users WHERE id = @userId", new { userId }, tx,
            cancellationToken: ct));
        var tier = (UserTier)Math.Max((short)UserTiers.FromStored(stored), (short)UserTier.ClassI);
        try
        {
            var updated = await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE users SET identity_name = @name, identity_number_hash = @hash, identity_number_enc = @number, identity_number_masked = @masked,
                       birth_date = @birth, tier = @tier
                WHERE id = @userId AND identity_number_hash IS NULL
                """, new
            {
                userId, name = data.Seal(userId, "identity_name", name), hash, number = data.Seal(userId, "identity_number_enc", number.Value),
                masked = number.Masked, birth = number.BirthDateText, tier = (short)tier,
            }, tx, cancellationToken: ct));
            if (updated == 0) return ApiProblem.Conflict(ErrorCodes.IdentityAlreadyVerified, "This account already has a verified identity; it cannot be replaced.");
            await events.AppendAsync(connection, tx, userId, SecurityEventKind.IdentityVerified, null, http.Connection.RemoteIpAddress?.ToString(),
                $"{UserTiers.MaskName(name)} {number.Masked}", ct);
            // With the identity it announces (Analytics counts verified users from it); its id is derived from the user, who is verified once.
            await EventLog.AppendAsync(connection, tx, [IdentityVerifiedEvent.For(userId, clock)], ct);
            await tx.CommitAsync(ct);
            await states.ChangedAsync(userId);
        }
        catch (DbException) when (!ct.IsCancellationRequested)
        {
            // Two accounts verifying one identity at once: the unique index lets one through. Anything else is not ours to hide.
            await using var again = await db.OpenAsync(ct);
            if (await again.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("SELECT id FROM users WHERE identity_number_hash IN (@hash, @legacy)",
                    new { hash, legacy }, cancellationToken: ct)) is { } other && other != userId)
                return Taken();
            throw;
        }
        signal.Nudge();
        loggers.CreateLogger(typeof(VerifyIdentity)).LogInformation("User {UserId} verified identity {IdNumber}", userId, number.Masked);
        return Answer(tier, name, number);
    }

    /// <summary>202 <c>{tier:"unverified", status:"under_review"}</c>: a watchlist case holds the identity back.</summary>
    private static IResult UnderReview() =>
        Results.Json(new { tier = UserTiers.Name(UserTier.Unverified), status = "under_review" }, JsonDefaults.Options, statusCode: StatusCodes.Status202Accepted);

    private static IResult Taken() => ApiProblem.Conflict(ErrorCodes.IdentityTaken, "This identity is verified by another account.");

    private static IResult Answer(UserTier tier, string name, ResidentIdNumber number) => Results.Json(new
    {
        tier = UserTiers.Name(tier), name_masked = UserTiers.MaskName(name), id_number_masked = number.Masked,
    }, JsonDefaults.Options);

    private sealed class Current
    {
        public long tier { get; init; }
        public string? identity_name { get; init; }
        public string? identity_number_hash { get; init; }
    }
}
