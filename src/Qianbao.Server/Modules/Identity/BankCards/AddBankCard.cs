using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity.Tiers;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity.BankCards;

/// <summary>
/// <c>POST /v1/me/bank-cards</c> <c>{card_number, holder_name, id_number}</c> → 201 <c>{id, last4, tier}</c> (200 with the
/// same card when it was added before). The account needs a verified identity (403 <c>identity_required</c>); the holder's
/// name and ID must be that identity, and the funding channel's bank must confirm the card is theirs (422
/// <c>card_holder_mismatch</c> either way; 503 <c>channel_unavailable</c> when the bank does not answer). A confirmed card
/// raises the account to class II (a higher tier stays). Stored: a keyed hash of the number and its last four digits only.
/// </summary>
internal static class AddBankCard
{
    public sealed record Request(string? CardNumber, string? HolderName, string? IdNumber);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/me/bank-cards", HandleAsync).RequireUser().WithTags("Identity");
        app.MapGet("/v1/me/bank-cards", ListAsync).RequireUser().WithTags("Identity");
    }

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, IdentityKeys keys, UserData data, TierStore tiers, IFundingChannel channel,
        SecurityEvents events, TimeProvider clock, UserStates states, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!CardNumber.TryNormalize(request!.CardNumber, out var card))
            return ApiProblem.BadRequest(ErrorCodes.InvalidCardNumber, $"card_number must be {CardNumber.LengthMin}-{CardNumber.LengthMax} digits passing the Luhn check.");
        if (!VerifyIdentity.TryNormalizeName(request.HolderName, out var holder))
            return ApiProblem.BadRequest(ErrorCodes.InvalidName, "holder_name must be the card holder's name: 2-64 letters.");
        var invalid = ResidentIdNumber.TryParse(request.IdNumber, out var number);
        if (invalid != ResidentIdProblem.None) return ApiProblem.BadRequest(ErrorCodes.InvalidIdNumber, ResidentIdNumber.Describe(invalid));

        var userId = http.UserId();
        var identity = await tiers.IdentityAsync(userId, ct);
        if (identity?.NumberHash is null || identity.Name is null)
            return ApiProblem.Forbidden(ErrorCodes.IdentityRequired, "Verify your real-name identity (POST /v1/me/identity) before adding a card.");
        if (holder != identity.Name || !data.IdNumberMatches(number!.Value.Value, identity.NumberHash))
            return Mismatch("The holder's name and ID must be your verified identity's.");

        var cardHash = IdentityKeys.Hash(keys.CardNumbers, card);
        var last4 = card[^4..];
        await using (var connection = await db.OpenAsync(ct))
        {
            var known = await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(
                "SELECT id FROM bank_cards WHERE user_id = @userId AND card_hash = @cardHash", new { userId, cardHash }, cancellationToken: ct));
            if (known is { } existing) return Answer(StatusCodes.Status200OK, existing, last4, identity.Tier);
        }

        var id = Guid.CreateVersion7(clock.GetUtcNow());
        switch (await channel.VerifyCardAsync(new CardVerification(id, card, holder, number.Value.Value), ct))
        {
            case CardVerificationResult.Matched: break;
            case CardVerificationResult.Mismatch: return Mismatch("The bank says this card is not the holder's.");
            default:
                return ApiProblem.Create(StatusCodes.Status503ServiceUnavailable, ErrorCodes.ChannelUnavailable, "The bank did not answer.",
                    "The card could not be verified now; try again later.");
        }

        UserTier tier;
        await using (var connection = await db.OpenAsync(ct))
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            var inserted = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO bank_cards (id, user_id, card_hash, last4, created_at_us) VALUES (@id, @userId, @cardHash, @last4, @now)
                ON CONFLICT (user_id, card_hash) DO NOTHING
                """, new { id, userId, cardHash, last4, now = clock.GetUnixMicroseconds() }, tx, cancellationToken: ct));
            if (inserted == 0)
            {
                // The same card added by a concurrent request: answer that one.
                var other = await connection.QuerySingleAsync<Guid>(new CommandDefinition(
                    "SELECT id FROM bank_cards WHERE user_id = @userId AND card_hash = @cardHash", new { userId, cardHash }, tx, cancellationToken: ct));
                return Answer(StatusCodes.Status200OK, other, last4, (await tiers.GetAsync(userId, ct)) ?? identity.Tier);
            }
            var stored = await connection.QuerySingleAsync<long>(new CommandDefinition("SELECT tier FROM users WHERE id = @userId",
                new { userId }, tx, cancellationToken: ct));
            var before = UserTiers.FromStored(stored);
            tier = before < UserTier.ClassII ? UserTier.ClassII : before;
            var address = http.Connection.RemoteIpAddress?.ToString();
            // The row update before the security events: an event holds the audit log's lock until commit.
            if (tier != before)
                await connection.ExecuteAsync(new CommandDefinition("UPDATE users SET tier = @tier WHERE id = @userId",
                    new { tier = (short)tier, userId }, tx, cancellationToken: ct));
            await events.AppendAsync(connection, tx, userId, SecurityEventKind.BankCardAdded, null, address, "card ending " + last4, ct);
            if (tier != before)
            {
                await events.AppendAsync(connection, tx, userId, SecurityEventKind.TierChanged, null, address,
                    $"{UserTiers.Name(before)} -> {UserTiers.Name(tier)} by a bank card the bank confirmed", ct);
            }
            await tx.CommitAsync(ct);
            if (tier != before) await states.ChangedAsync(userId);
        }
        return Answer(StatusCodes.Status201Created, id, last4, tier);
    }

    /// <summary><c>GET /v1/me/bank-cards</c> → <c>{items:[{id, card_number_masked, last4, created_at}]}</c>, oldest first.</summary>
    private static async Task<IResult> ListAsync(HttpContext http, Db db, CancellationToken ct)
    {
        var userId = http.UserId();
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<(Guid Id, string Last4, long CreatedAtUs)>(new CommandDefinition(
            "SELECT id, last4, created_at_us FROM bank_cards WHERE user_id = @userId ORDER BY created_at_us, id", new { userId }, cancellationToken: ct));
        return Results.Json(new
        {
            items = rows.Select(r => new
            {
                id = r.Id, card_number_masked = Masked(r.Last4), last4 = r.Last4, created_at = TimeProviderExtensions.FromUnixMicroseconds(r.CreatedAtUs),
            }),
        }, JsonDefaults.Options);
    }

    private static string Masked(string last4) => "**** **** **** " + last4;

    private static IResult Mismatch(string detail) => ApiProblem.Unprocessable(ErrorCodes.CardHolderMismatch, detail);

    private static IResult Answer(int status, Guid id, string last4, UserTier tier) => Results.Json(new
    {
        id, card_number_masked = Masked(last4), last4, tier = UserTiers.Name(tier),
    }, JsonDefaults.Options, statusCode: status);
}
