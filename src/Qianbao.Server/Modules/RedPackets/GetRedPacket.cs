using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Modules.RedPackets;

/// <summary>
/// <c>GET /v1/red-packets/{code}</c> → <c>{id, code, sender:{name}, amount, currency, count, split, message, status, created_at,
/// expires_at, claimed:{count, amount}, refunded_amount, my_amount, claims:[{name, amount, claimed_at}]}</c>. Whoever holds the
/// code may look (it is what the sender shared); names are masked by Identity. <c>status</c> is <c>open</c>, <c>finished</c>
/// (every share claimed) or <c>expired</c> (past its time; <c>refunded_amount</c> is set once the rest is back with the sender).
/// Unclaimed lucky amounts are not shown.
/// </summary>
internal static class GetRedPacket
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/red-packets/{code}", HandleAsync).RequireUser().WithTags("Red packets");

    private static async Task<IResult> HandleAsync(string code, HttpContext http, RedPacketStore store, UserDirectory users, TimeProvider clock,
        CancellationToken ct)
    {
        var packet = await store.FindByCodeAsync(code, ct);
        if (packet is null) return ApiProblem.NotFound("No red packet has that code.");
        var shares = await store.SharesAsync(packet.id, ct);
        var claimed = shares.Where(s => s.claimed_by is not null).OrderBy(s => s.claimed_at_us).ThenBy(s => s.seq).ToArray();
        var names = await users.MaskedNamesAsync([packet.sender_id, .. claimed.Select(s => s.claimed_by!.Value)], ct);
        var userId = http.UserId();
        var status = claimed.Length == shares.Count ? "finished" : packet.ExpiredAt(clock.GetUnixMicroseconds()) ? "expired" : "open";
        return Results.Json(new
        {
            id = packet.id, code = packet.code, sender = new { name = names.GetValueOrDefault(packet.sender_id, "") }, amount = packet.amount,
            currency = packet.currency, count = packet.share_count, split = RedPacketNames.Of(packet.Split), message = packet.message, status,
            created_at = TimeProviderExtensions.FromUnixMicroseconds(packet.created_at_us),
            expires_at = TimeProviderExtensions.FromUnixMicroseconds(packet.expires_at_us),
            claimed = new { count = claimed.Length, amount = claimed.Sum(s => s.amount) },
            refunded_amount = packet.refunded_amount,
            my_amount = claimed.FirstOrDefault(s => s.claimed_by == userId)?.amount,
            claims = claimed.Select(s => new
            {
                name = names.GetValueOrDefault(s.claimed_by!.Value, ""), amount = s.amount,
                claimed_at = TimeProviderExtensions.FromUnixMicroseconds(s.claimed_at_us!.Value),
            }),
        }, JsonDefaults.Options);
    }
}
