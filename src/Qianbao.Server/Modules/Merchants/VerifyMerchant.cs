using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>
/// <c>POST /admin/v1/merchants/{id}/verify</c> → <c>{id, status:"verified"}</c>; verifying twice is harmless. A verified merchant
/// gets its static collection code (<see cref="CollectionCodes"/>) with it. A merchant a
/// watchlist case holds back (open, or resolved as reported or frozen) is 409 <c>under_review</c>.
/// </summary>
internal static class VerifyMerchant
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/merchants/{id}/verify", HandleAsync).RequireOperator(OperatorRole.Risk).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, Db db, EventSignal events, Risk.WatchlistScreening screening, TimeProvider clock,
        CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var merchantId)) return ApiProblem.NotFound();
        if (await screening.HoldsMerchantAsync(merchantId, ct))
            return ApiProblem.Conflict(ErrorCodes.UnderReview, "A watchlist case about this merchant is open (or was reported); it cannot be verified until the case is cleared.");
        var now = clock.GetUnixMicroseconds();
        await using (var connection = await db.OpenAsync(ct))
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            var verifiedAt = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
                """
                UPDATE merchants SET status = @verified, verified_at_us = COALESCE(verified_at_us, @now), collection_code = COALESCE(collection_code, @code)
                WHERE id = @id RETURNING verified_at_us
                """,
                new { id = merchantId, verified = MerchantRow.Verified, now, code = CollectionCodes.NewCode() }, tx, cancellationToken: ct));
            if (verifiedAt is null) return ApiProblem.NotFound();
            // Only the first verification is news; the event id is derived from the merchant, so even a race appends one.
            if (verifiedAt == now)
            {
                await EventLog.AppendAsync(connection, tx,
                    [new MerchantVerified(merchantId) { EventId = DomainEvent.IdFor<MerchantVerified>(merchantId.ToString("N")), OccurredAtUs = now }], ct);
            }
            await tx.CommitAsync(ct);
        }
        events.Nudge();
        return Results.Json(new { id = merchantId, status = MerchantRow.Verified }, JsonDefaults.Options);
    }
}
