using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Identity.Tiers;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.RedPackets;

/// <summary>
/// <c>POST /v1/red-packets/{code}/claim</c> (Idempotency-Key; no body needed) → 200 <c>{id, amount, currency}</c>: one unclaimed
/// share, picked at random, moves from the packet's escrow to the caller's wallet in one ledger command whose guard (the
/// packet row locked, <see cref="RedPacketGuard"/>) checks that the share is still unclaimed, the packet open and unexpired
/// and the caller holding no share of it, and whose effect marks the share claimed. A share lost to a concurrent claimer is
/// simply followed by another pick; a share is therefore claimed at most once, and a person claims at most one share.
/// Refusals (422): <c>own_red_packet</c> (the sender), <c>already_claimed</c> (a second claim with another key; the same key
/// answers the first 200 again), <c>out_of_shares</c>, <c>expired</c>, and, with account security on,
/// <c>recipient_not_verified</c> (a person without a verified identity cannot receive money, as for transfers). No PIN:
/// receiving money spends nothing.
/// </summary>
internal static class ClaimRedPacket
{
    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/red-packets/{code}/claim", HandleAsync).RequireUser().WithTags("Red packets");

    private static async Task<IResult> HandleAsync(string code, HttpContext http, Idempotency idempotency, RedPacketStore store, MoneyPipeline money,
        LedgerAccounts accounts, TierGate tiers, TimeProvider clock, CancellationToken ct)
    {
        var (bytes, problem) = await RequestBody.ReadAsync(http.Request, ct);
        if (problem is not null) return problem;
        var userId = http.UserId();
        var (idem, done) = await idempotency.BeginAsync(http, "red-packet-claim/" + userId.ToString("N"), bytes!, ct);
        if (done is not null) return done;

        var packet = await store.FindByCodeAsync(code, ct);
        if (packet is null) return ApiProblem.NotFound("No red packet has that code.");
        if (packet.sender_id == userId) return ApiProblem.Unprocessable(ErrorCodes.OwnRedPacket, "You cannot claim a share of your own red packet.");
        if (await tiers.CheckRecipientAsync(userId, ct) is { } unverified) return unverified;

        var currency = Currency.Parse(packet.currency);
        var escrow = ChartOfAccounts.RedPacket(packet.id, currency);
        var wallet = ChartOfAccounts.UserWallet(userId, currency);
        await accounts.EnsureAsync(wallet, userId, ct);

        // Each round either claims a share or learns that someone else took the one it picked; at most one round per share.
        for (var round = 0; round <= packet.share_count; round++)
        {
            if (round > 0) packet = (await store.FindAsync(packet.id, ct))!;
            var shares = await store.SharesAsync(packet.id, ct);
            var nowUs = clock.GetUnixMicroseconds();
            if (Refusal(packet, shares, userId, nowUs) is { } refusal)
                return await idempotency.FindReplayAsync(idem!, ct) ?? refusal;
            var open = shares.Where(s => s.claimed_by is null).ToArray();
            // A random pick, so concurrent claimers mostly pick different shares and seldom have to go round again.
            var share = open[Random.Shared.Next(open.Length)];

            var id = new TransferId(StableId.From("red-packet-claim", $"{packet.id:N}/{share.seq}"));
            var transfer = new Transfer(id, escrow.Id, wallet.Id, share.amount, currency, TransferCodes.RedPacketClaim, Reference: "red-packet");
            var body = new { id = packet.id, amount = share.amount, currency = currency.Code };
            var command = new LedgerCommand([transfer],
                results => results.All(r => r.IsApplied()) ? idem!.Response(StatusCodes.Status200OK, body) : null,
                new RedPacketGuard(RedPacketGuardKind.Claim, packet.id, nowUs, share.seq, userId),
                _ =>
                [
                    new RedPacketShareClaimed(packet.id, share.seq, userId, nowUs),
                    new RedPacketClaimed(packet.id, packet.sender_id, userId, share.seq, share.amount, packet.currency)
                    {
                        EventId = DomainEvent.IdFor<RedPacketClaimed>($"{packet.id:N}/{share.seq}"), OccurredAtUs = nowUs,
                    },
                ]);
            var outcome = await money.SubmitAsync(command, ct);
            switch (outcome.Kind)
            {
                case MoneyOutcomeKind.Applied:
                    return Results.Json(body, JsonDefaults.Options, statusCode: StatusCodes.Status200OK);
                case MoneyOutcomeKind.Refused:
                    return ApiProblem.Unprocessable(outcome.Refusal!.Value.Code, outcome.Refusal.Value.Detail);
                case MoneyOutcomeKind.GuardRejected:
                    continue; // taken, expired or claimed by this person meanwhile: read again and decide
                case MoneyOutcomeKind.LedgerRejected:
                default:
                    // The escrow holds exactly the unclaimed shares: a rejected claim of an unclaimed share is a bug, not a race.
                    throw new InvariantViolationException($"claiming share {share.seq} of red packet {packet.id} failed with {string.Join(",", outcome.Results)}");
            }
        }
        throw new InvariantViolationException($"claiming red packet {packet.id} took more rounds than it has shares");
    }

    /// <summary>Why the caller cannot claim now, or null.</summary>
    private static IResult? Refusal(RedPacketRow packet, IReadOnlyList<RedPacketShareRow> shares, Guid userId, long nowUs)
    {
        if (shares.Any(s => s.claimed_by == userId))
            return ApiProblem.Unprocessable(ErrorCodes.AlreadyClaimed, "You have already claimed a share of this red packet.");
        if (shares.All(s => s.claimed_by is not null))
            return ApiProblem.Unprocessable(ErrorCodes.OutOfShares, "Every share of this red packet has been claimed.");
        if (packet.ExpiredAt(nowUs))
            return ApiProblem.Unprocessable(ErrorCodes.Expired, "This red packet has expired; what was left went back to its sender.");
        return null;
    }
}
